/**
 * The `version:` field of ext5's sacreBLEU-style signatures. It names ext5's implementation and the
 * sacreBLEU release whose numbers it reproduces, so a signature never claims to come from sacreBLEU.
 */
export const SIGNATURE_VERSION = 'ext5-sacrebleu2.6.0';
