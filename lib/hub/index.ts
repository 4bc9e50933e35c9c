/**
 * The Hugging Face Hub, as huggingface_hub speaks to it: configuration from the same environment variables
 * (tokens, endpoint, offline mode, timeouts, cache folder), requests with retries and clear errors, dataset
 * listings pinned to a commit, resumable verified file downloads, and model snapshots in the cache layout
 * Python uses. See docs/hub.md.
 */
export * from './config';
export * from './datasets';
export * from './file';
export * from './http';
export * from './model_ref';
export * from './snapshot';
export * from './t5_vocab';
export * from './validate';
export * from './verify';
