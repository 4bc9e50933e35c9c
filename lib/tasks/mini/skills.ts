/**
 * The names the mini data is built around, in a module with no side effects (importing lib/tasks/mini
 * registers its tasks): which tasks are held out of mini_exmix and which shared skills each task uses.
 * lib/experiments and the CLI read them without registering anything.
 */
/**
 * Tasks kept out of mini_exmix, for fine-tuning/evaluation after pre-training: the mini's "tasks
 * outside ExMix". Each exercises skills that mini_exmix teaches in other forms (MINI_SKILLS).
 */
export const MINI_HELD_OUT: readonly string[] = ['mini_nli_counts', 'mini_word_problems'];

/**
 * The skills shared across mini tasks (see scripts/make-mini-assets.py):
 * - `count`: add or take away small counts written as words, answering in digits;
 * - `compare`: which of two counted things there are more (or fewer) of;
 * - `place`: the capital-of relation, and who lives or travels where.
 */
export type MiniSkill = 'count' | 'compare' | 'place';

/** Which shared skills each mini task exercises; tasks not listed use only their own templates. */
export const MINI_SKILLS: Readonly<Record<string, readonly MiniSkill[]>> = {
  mini_headline: ['compare'],
  mini_meeting_summary: ['count'],
  mini_booking_dialog: ['count'],
  mini_weather_dialog: ['place'],
  mini_nli_counts: ['compare'],
  mini_nli_places: ['place'],
  mini_arith_expr: ['count'],
  mini_event_order: ['compare'],
  mini_capitals: ['place'],
  mini_story_qa: ['place', 'count', 'compare'],
  mini_word_problems: ['count'],
};
