/**
 * ExMix members named by a public list of ExMix sources: the "ExMix" section of the
 * FreedomIntelligence/InstructionZoo README.md (commit ad7e40a2072d0bfa706af838b8d238adb4fd8f1f),
 * which links COGS (registered in semantic_parsing.ts), Shakespearizing Modern English, StylePTB,
 * the GPT-2 output dataset, parsing to FunQL (Unimer), the UKP sentential argument mining corpus,
 * NewsQuizQA and DialoGLUE. Each member added here is `inPaper: true` with that list as its
 * `inPaperSource`. DialoGLUE is several datasets; its two intent sets with a Hub copy (BANKING77,
 * CLINC150) are added. StylePTB, UKP and NewsQuizQA are not registered: their record counts and
 * layouts could not be checked here (docs/tasks.md says so). Families are ext5's choice: the list
 * does not give them; style transfer goes with the summarization family's text rewriting.
 */
import { keyedFields } from '../preprocessors';
import type { TaskOptions } from '../task';
import { exmixTask } from './spec';

/** Where these members are named as ExMix sources. */
export const INSTRUCTION_ZOO_EXMIX =
  'FreedomIntelligence/InstructionZoo README.md, section "ExMix" (commit ad7e40a2072d0bfa706af838b8d238adb4fd8f1f)';

/** The 77 intents of BANKING77, in class-id order (its dataset_infos.json ClassLabel names). */
const BANKING77_INTENTS: readonly string[] = [
  'activate_my_card age_limit apple_pay_or_google_pay atm_support automatic_top_up',
  'balance_not_updated_after_bank_transfer balance_not_updated_after_cheque_or_cash_deposit',
  'beneficiary_not_allowed cancel_transfer card_about_to_expire card_acceptance card_arrival',
  'card_delivery_estimate card_linking card_not_working card_payment_fee_charged',
  'card_payment_not_recognised card_payment_wrong_exchange_rate card_swallowed',
  'cash_withdrawal_charge cash_withdrawal_not_recognised change_pin compromised_card',
  'contactless_not_working country_support declined_card_payment declined_cash_withdrawal',
  'declined_transfer direct_debit_payment_not_recognised disposable_card_limits',
  'edit_personal_details exchange_charge exchange_rate exchange_via_app extra_charge_on_statement',
  'failed_transfer fiat_currency_support get_disposable_virtual_card get_physical_card',
  'getting_spare_card getting_virtual_card lost_or_stolen_card lost_or_stolen_phone',
  'order_physical_card passcode_forgotten pending_card_payment pending_cash_withdrawal',
  'pending_top_up pending_transfer pin_blocked receiving_money Refund_not_showing_up request_refund',
  'reverted_card_payment? supported_cards_and_currencies terminate_account',
  'top_up_by_bank_transfer_charge top_up_by_card_charge top_up_by_cash_or_cheque top_up_failed',
  'top_up_limits top_up_reverted topping_up_by_card transaction_charged_twice transfer_fee_charged',
  'transfer_into_account transfer_not_received_by_recipient transfer_timing',
  'unable_to_verify_identity verify_my_identity verify_source_of_funds verify_top_up',
  'virtual_card_not_working visa_or_mastercard why_verify_identity wrong_amount_of_cash_received',
  'wrong_exchange_rate_for_cash_withdrawal',
]
  .join(' ')
  .split(' ');

/** The 151 intents of CLINC150 (150 + 'oos'), in class-id order (its dataset_infos.json ClassLabel names). */
const CLINC150_INTENTS: readonly string[] = [
  'restaurant_reviews nutrition_info account_blocked oil_change_how time weather redeem_rewards',
  'interest_rate gas_type accept_reservations smart_home user_name report_lost_card repeat',
  'whisper_mode what_are_your_hobbies order jump_start schedule_meeting meeting_schedule',
  'freeze_account what_song meaning_of_life restaurant_reservation traffic make_call text',
  'bill_balance improve_credit_score change_language no measurement_conversion timer flip_coin',
  'do_you_have_pets balance tell_joke last_maintenance exchange_rate uber car_rental credit_limit',
  'oos shopping_list expiration_date routing meal_suggestion tire_change todo_list card_declined',
  'rewards_balance change_accent vaccines reminder_update food_last change_ai_name bill_due',
  'who_do_you_work_for share_location international_visa calendar translate carry_on book_flight',
  'insurance_change todo_list_update timezone cancel_reservation transactions credit_score',
  'report_fraud spending_history directions spelling insurance what_is_your_name reminder',
  'where_are_you_from distance payday flight_status find_phone greeting alarm order_status',
  'confirm_reservation cook_time damaged_card reset_settings pin_change replacement_card_duration',
  'new_card roll_dice income taxes date who_made_you pto_request tire_pressure how_old_are_you',
  'rollover_401k pto_request_status how_busy application_status recipe calendar_update play_music',
  'yes direct_deposit credit_limit_change gas pay_bill ingredients_list lost_luggage goodbye',
  'what_can_i_ask_you book_hotel are_you_a_bot next_song change_speed plug_type maybe w2',
  'oil_change_when thank_you shopping_list_update pto_balance order_checks travel_alert fun_fact',
  'sync_device schedule_maintenance apr transfer ingredient_substitution calories current_location',
  'international_fees calculator definition next_holiday update_playlist mpg min_payment',
  'change_user_name restaurant_suggestion travel_notification cancel pto_used travel_suggestion',
  'change_volume',
]
  .join(' ')
  .split(' ');

/** The members of the public ExMix list that have a public source, in their families. */
export const LISTED_TASKS: TaskOptions[] = [
  exmixTask('dialogue', {
    name: 'banking77',
    description: 'BANKING77 (DialoGLUE): the intent of a banking customer query.',
    hf: 'PolyAI/banking77',
    splits: { train: 'train', test: 'test' },
    n: 10003,
    inPaper: true,
    inPaperSource: `${INSTRUCTION_ZOO_EXMIX}: DialoGLUE (alexa/dialoglue)`,
    pre: keyedFields({
      prefix: 'banking77',
      fields: ['text'],
      target: { column: 'label', labels: BANKING77_INTENTS },
    }),
    metrics: ['accuracy'],
    sample: { text: 'I am still waiting on my card?', label: 11 },
    targetsLength: 32,
  }),
  exmixTask('dialogue', {
    name: 'clinc150',
    description: 'CLINC150 (DialoGLUE): the intent of an assistant query, or oos (out of scope).',
    hf: 'clinc/clinc_oos',
    config: 'plus',
    splits: { train: 'train', validation: 'validation', test: 'test' },
    n: 15250,
    inPaper: true,
    inPaperSource: `${INSTRUCTION_ZOO_EXMIX}: DialoGLUE (alexa/dialoglue)`,
    pre: keyedFields({
      prefix: 'clinc150',
      fields: ['text'],
      target: { column: 'intent', labels: CLINC150_INTENTS },
    }),
    metrics: ['accuracy'],
    sample: { text: 'what is the weather like tomorrow', intent: 5 },
    targetsLength: 32,
  }),
  exmixTask('classification', {
    name: 'gpt2_output_detection',
    description: 'GPT-2 output dataset: was this text written by a person (WebText) or by GPT-2?',
    hf: 'openai/gpt-2-output-dataset',
    home: 'https://github.com/openai/gpt-2-output-dataset',
    splits: { train: 'train', validation: 'valid', test: 'test' },
    // 250000 WebText + 250000 GPT-2 (xl-1542M) training documents, as the manual layout below pairs them.
    n: 500000,
    inPaper: true,
    inPaperSource: INSTRUCTION_ZOO_EXMIX,
    manual:
      'The GPT-2 output dataset is published on GitHub (https://github.com/openai/gpt-2-output-dataset; its download_dataset.py fetches the files), not the Hub. For each split (train, valid, test) take webtext.<split>.jsonl and xl-1542M.<split>.jsonl, add "label": "human" to every WebText line and "label": "gpt2" to every GPT-2 line, and put both files in the split folder (train/, valid/, test/).',
    pre: keyedFields({ prefix: 'gpt2_output_detection', fields: ['text'], target: 'label' }),
    metrics: ['accuracy'],
    sample: {
      id: 0,
      ended: true,
      length: 9,
      text: 'The weather was fine and we walked home.',
      label: 'human',
    },
    targetsLength: 8,
  }),
  exmixTask('summarization', {
    name: 'shakespearizing_modern_english',
    description: "Shakespearizing Modern English: rewrite a modern line in Shakespeare's style.",
    hf: 'harsh19/Shakespearizing-Modern-English',
    home: 'https://github.com/harsh19/Shakespearizing-Modern-English',
    splits: { train: 'train', validation: 'valid', test: 'test' },
    // Jhamtani et al. 2017 (the repository's paper): 18395 training pairs of 21079.
    n: 18395,
    inPaper: true,
    inPaperSource: INSTRUCTION_ZOO_EXMIX,
    manual:
      'Shakespearizing Modern English is published on GitHub (https://github.com/harsh19/Shakespearizing-Modern-English), not the Hub: its data folder pairs, line by line, a modern and an original (Shakespeare) file per split. Write each split as a TSV with the header line "modern\toriginal" and one pair per line, and put it in its split folder (train/, valid/, test/).',
    pre: keyedFields({ prefix: 'shakespeare', fields: ['modern'], target: 'original' }),
    metrics: ['bleu'],
    sample: { modern: 'What are you doing here?', original: 'What dost thou here?' },
    targetsLength: 64,
  }),
  exmixTask('semantic_parsing', {
    name: 'geo_funql',
    description: 'GeoQuery to FunQL (Unimer): a geography question to its functional query.',
    hf: 'JasperGuo/Unimer',
    home: 'https://github.com/JasperGuo/Unimer',
    splits: { train: 'train', test: 'test' },
    // The standard GeoQuery split: 600 training and 280 test questions.
    n: 600,
    inPaper: true,
    inPaperSource: `${INSTRUCTION_ZOO_EXMIX}: "Parsing to FunQL"`,
    manual:
      'Unimer (https://github.com/JasperGuo/Unimer) publishes GeoQuery with FunQL logical forms on GitHub, not the Hub. Write each split as a TSV with the header line "question\tlogical_form" (one question and its FunQL query per line) and put it in its split folder (train/, test/).',
    pre: keyedFields({ prefix: 'geo_funql', fields: ['question'], target: 'logical_form' }),
    metrics: ['sequence_accuracy'],
    sample: {
      question: 'what is the capital of texas',
      logical_form: "answer(capital_1(stateid('texas')))",
    },
    targetsLength: 128,
  }),
];
