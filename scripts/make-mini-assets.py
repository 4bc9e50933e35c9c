#!/usr/bin/env python3
"""Generates ext5's built-in mini data (assets/mini/): a small fictional world, sixteen templated
text-to-text tasks with real learnable structure (two per ExMix family) that share skills across
families the way ExMix tasks do (see "shared skills" below), a span-corruption corpus about the same
world, and a SentencePiece unigram model trained on all of it with `ext5 vocab train` (build dist/ first).
Re-running it gives the same pieces, scores and ids; only the trainer spec stored in mini.model differs,
because it records the local input and output paths.

  --keep-vocab (or MINI_KEEP_VOCAB=1): rewrite tasks/ and c4/ only and leave assets/mini/spm/ as it is.
  The committed vocabulary was trained on the first version of this data (same world, same names and
  number words); tests pin its ids and size, so the data is regenerated around it, not the reverse.

Deterministic: the same script gives byte-identical JSONL (random.Random with fixed seeds, one stream
per task and one for the corpus; no set/dict order is relied on). Every text is generated here from
the templates below; nothing is copied from anywhere. Run from the repository root:
  /usr/bin/python3 scripts/make-mini-assets.py --keep-vocab
"""
import json
import os
import random
import shutil
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT = os.environ.get('MINI_OUT') or os.path.join(ROOT, 'assets', 'mini')
N_TRAIN, N_VAL = 800, 100
SEED = 20220101
rng = random.Random(SEED)

SYL = ['ka', 'lo', 'mi', 'ren', 'dor', 'vel', 'sa', 'tur', 'bel', 'nim', 'ost', 'ra', 'que', 'zan', 'fi', 'mor', 'lin', 'ta',
       'gar', 'pel', 'shu', 'won', 'ik', 'ber']


def name(parts=2):
    return ''.join(rng.choice(SYL) for _ in range(parts)).capitalize()


def unique_names(n, parts):
    seen, out = set(), []
    while len(out) < n:
        x = name(parts)
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


# ---- the world ---------------------------------------------------------------------------------------
COUNTRIES = unique_names(120, 3)
CAPITALS = unique_names(120, 2)
CAPITAL_OF = dict(zip(COUNTRIES, CAPITALS))
PEOPLE = ['Ann', 'Bob', 'Cara', 'Dev', 'Eli', 'Fay', 'Gus', 'Hana', 'Ivo', 'Jun', 'Kira', 'Leo', 'Mia', 'Noor', 'Omar', 'Pia']
SURNAMES = unique_names(80, 2)
INVENTIONS = ['steam kettle', 'paper kite', 'glass lamp', 'water clock', 'wind mill', 'rope bridge', 'clay oven', 'iron plough',
              'silk sail', 'copper bell', 'wooden loom', 'stone wheel', 'reed flute', 'brass lens', 'tin whistle', 'oak barrel']
INVENTOR_OF = {inv: f'{rng.choice(PEOPLE)} {rng.choice(SURNAMES)}' for inv in INVENTIONS}
FOODS = ['Thai', 'Italian', 'French', 'Indian', 'Greek', 'Mexican', 'Japanese']
AREAS = ['riverside', 'city centre', 'old town', 'harbour']
PRICES = ['cheap', 'moderate', 'expensive']
RESTAURANTS = [f'The {a} {b}' for a in ['Blue', 'Red', 'Golden', 'Silver', 'Green', 'Little', 'Old'] for b in ['Fox', 'Oak', 'Lantern', 'Anchor', 'Pear']]
DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']
TIMES = ['9 am', '10 am', '11 am', 'noon', '1 pm', '3 pm', '5 pm', '7 pm']
WEATHER = ['sunny', 'rainy', 'windy', 'snowy', 'cloudy', 'foggy']
FRUITS = ['apples', 'pears', 'plums', 'lemons', 'figs', 'cherries']
NUMW = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten']
TOOLS = {'cut paper': 'scissors', 'drive a nail': 'hammer', 'dig a hole': 'shovel', 'tighten a bolt': 'wrench',
         'sweep the floor': 'broom', 'measure a board': 'ruler', 'boil water': 'kettle', 'write a letter': 'pen',
         'water the plants': 'watering can', 'open a tin': 'tin opener', 'light a room': 'lamp', 'stir soup': 'spoon'}
ROUTINES = [['wakes up', 'eats breakfast', 'walks to work', 'has lunch', 'goes home'],
            ['buys seeds', 'digs the soil', 'plants the seeds', 'waters the garden', 'picks the vegetables'],
            ['packs a bag', 'boards the train', 'arrives in the city', 'checks into the hotel', 'visits the museum'],
            ['mixes the flour', 'kneads the dough', 'bakes the bread', 'slices the loaf', 'serves the bread']]
POS_WORDS = ['wonderful', 'delicious', 'friendly', 'excellent', 'lovely', 'great', 'charming', 'superb']
NEG_WORDS = ['terrible', 'bland', 'rude', 'awful', 'dirty', 'poor', 'disappointing', 'cold']
TOPICS = {
    'sports': ['The team scored twice in the second half.', 'The runner finished the race in record time.',
               'Fans cheered as the match went to extra time.', 'The coach praised the young goalkeeper.'],
    'weather': ['Heavy rain is expected along the coast tonight.', 'A warm wind will bring clear skies tomorrow.',
                'Snow closed the mountain roads this morning.', 'Fog will lift by noon in most valleys.'],
    'food': ['The new bakery sells bread with olives.', 'Add the rice and stir until the water is gone.',
             'The soup tastes better with fresh herbs.', 'The market had ripe figs and sweet plums.'],
    'music': ['The band played a slow song at the end.', 'She practised the violin every evening.',
              'The choir sang in the old hall.', 'A new album of folk songs came out this week.'],
}


NOUNS = ('river hill forest village garden window bridge market teacher farmer baker pilot sailor doctor child friend '
         'letter story song bottle basket candle mirror ladder blanket pillow kitchen station harbour island valley '
         'meadow orchard castle tower library museum theatre school office factory workshop engine wagon bicycle '
         'carriage boat anchor compass lantern kettle hammer needle thread button pocket jacket boot scarf glove '
         'apple pear plum lemon fig cherry onion carrot potato pepper bread cheese butter honey sugar salt tea coffee '
         'cloud storm thunder rainbow sunrise sunset shadow moon star planet comet ocean desert glacier volcano '
         'fox wolf bear deer rabbit owl eagle sparrow salmon turtle horse goat sheep cow pig duck goose frog bee ant '
         'table chair shelf drawer carpet curtain staircase chimney fence gate barn stable mill well fountain statue '
         'painting photograph newspaper magazine journal diary calendar clock watch ring necklace bracelet coin wallet '
         'ticket passport suitcase umbrella raincoat sweater trousers shirt dress helmet shield sword arrow bow drum '
         'trumpet violin guitar piano whistle flute bell chain rope net hook bucket barrel crate sack tray plate bowl '
         'cup jug spoon fork knife pan pot oven stove fridge sink towel soap brush comb razor mirror lamp candle torch '
         'map globe atlas dictionary poem novel chapter page sentence word letter alphabet number lesson exam grade '
         'prize medal trophy festival parade wedding birthday holiday journey voyage expedition harvest winter spring '
         'summer autumn morning evening midnight noon week month season century village mayor council parliament '
         'judge lawyer nurse engineer mechanic carpenter plumber painter sculptor poet singer dancer actor writer '
         'merchant shepherd fisherman hunter gardener miller weaver potter tailor cobbler blacksmith').split()
ADJS = ('quiet noisy bright dark warm cold old young tall short narrow wide heavy light soft hard smooth rough '
        'sweet bitter fresh stale clean dusty busy lazy brave shy clever gentle proud humble careful curious '
        'happy sad tired eager calm wild golden silver wooden stone broken shiny ancient modern tiny huge hidden '
        'famous strange simple rare common lonely crowded empty full fragile sturdy polished rusty crooked straight '
        'elegant clumsy graceful nervous cheerful grumpy patient restless generous greedy honest sly loyal fierce '
        'timid bold silent loud fragrant smoky misty frozen melted purple orange crimson scarlet violet turquoise '
        'northern southern eastern western distant nearby secret public private royal humble mighty feeble').split()
VERBS = ('walk run jump climb swim fly sing dance paint build carry push pull open close watch listen read write '
         'cook bake plant water clean fix mend count measure follow lead wait rest sleep wake travel visit explore '
         'gather share borrow return notice remember forget discover describe explain answer ask whisper shout laugh '
         'cry smile frown wander hurry linger climb descend float sink drift glide stumble crawl kneel bow wave '
         'polish scrub sweep fold wrap tie untie knit sew weave carve sculpt chop slice peel grate knead whisk stir '
         'pour taste smell touch hear observe inspect examine admire praise blame forgive promise deliver collect '
         'arrange organize invent design repair replace decorate celebrate rehearse perform compose translate').split()


def plain_sentence():
    a, b = rng.sample(NOUNS, 2)
    return (f'The {rng.choice(ADJS)} {a} {rng.choice(["will", "can", "must", "did not"])} {rng.choice(VERBS)} '
            f'near the {rng.choice(ADJS)} {b}.')


def w(n):
    return NUMW[n] if n < len(NUMW) else str(n)


# ---- shared skills ----------------------------------------------------------------------------------
# Real ExMix tasks share what they need to know: the same entities, arithmetic and relations turn up as
# QA, NLI, summaries and dialogue. The mini tasks do the same with three skills, each in several
# families, so that pre-training on mini_exmix can help the held-out tasks (MINI_HELD_OUT in
# lib/tasks/mini/index.ts), which ask for a skill in a form mini_exmix never shows:
#   count  - add or take away small counts written as words ("four plums and three more" -> 7)
#   compare - which of two counted things there are more (or fewer) of
#   place   - the capital-of relation and who lives or travels where
# Counts are one..nine in words, answers digits, so the word->number mapping is itself shared.
COUNT_MAX = 9


def two_counts():
    return rng.sample(range(1, COUNT_MAX + 1), 2)


# ---- tasks (column layouts mirror the kinds of public datasets in each family) -----------------------
def mini_headline():
    """summarization x compare: the headline names what the market sold more of."""
    town = rng.choice(CAPITALS)
    f1, f2 = rng.sample(FRUITS, 2)
    a, b = two_counts()
    day = rng.choice(DAYS)
    who = f'{rng.choice(PEOPLE)} {rng.choice(SURNAMES)}'
    what = rng.choice(['library', 'bridge', 'school', 'park', 'museum', 'harbour'])
    article = (f'On {day}, the market in {town} sold {w(a)} baskets of {f1} and {w(b)} baskets of {f2}. '
               f'The mayor, {who}, said the market near the {what} was busy, and local shops stayed open late.')
    more, less = (f1, f2) if a > b else (f2, f1)
    return {'article': article, 'headline': f'{town} sells more {more} than {less}'}


def mini_meeting_summary():
    """summarization x count: who meets when and where, and how much fruit they bring in total."""
    a, b = rng.sample(PEOPLE, 2)
    day, time, place = rng.choice(DAYS), rng.choice(TIMES), rng.choice(CAPITALS)
    other = rng.choice([d for d in DAYS if d != day])
    fruit = rng.choice(FRUITS)
    n, m = two_counts()
    transcript = (f'{a}: Can we meet on {other}? {b}: {other} is bad for me, what about {day}? '
                  f'{a}: {day} at {time} works, and I will bring {w(n)} {fruit}. '
                  f'{b}: Great, I will bring {w(m)} more, see you in {place}.')
    return {'transcript': transcript, 'summary': f'{a} and {b} will meet on {day} at {time} in {place} with {n + m} {fruit}.'}


def mini_booking_dialog():
    """dialogue x count: the table is for the party plus (or minus) the late change."""
    n, k = two_counts()
    time, day = rng.choice(TIMES), rng.choice(DAYS)
    rest = rng.choice(RESTAURANTS)
    if rng.random() < 0.5 or k >= n:
        change, total = f'{w(k)} more people', n + k
    else:
        change, total = f'{w(k)} people fewer', n - k
    turns = [f'Hello, I would like a table at {rest}.', 'Of course. For how many people and when?',
             f'For {w(n)} people on {day} at {time}, please. Make it {change}.',
             f'Done: a table for {total} at {rest} on {day} at {time}.']
    return {'turns': turns}


def mini_weather_dialog():
    """dialogue x place: look the city up in the forecast; the question may name its country instead."""
    countries = rng.sample(COUNTRIES, 3)
    cities = [CAPITAL_OF[c] for c in countries]
    forecast = {c: rng.choice(WEATHER) for c in cities}
    i, day = rng.randrange(3), rng.choice(DAYS)
    city = cities[i]
    knowledge = '; '.join(f'{c}: {forecast[c]}' for c in cities)
    where = city if rng.random() < 0.5 else f'the capital of {countries[i]}'
    turns = [f'What will the weather be like in {where} on {day}?', f'On {day} it will be {forecast[city]} in {city}.']
    return {'knowledge': knowledge, 'turns': turns}


def mini_nli_counts():
    """HELD OUT. nli x compare (+ count): the NLI form of the compare skill, never seen in mini_exmix."""
    f1, f2, f3 = rng.sample(FRUITS, 3)
    a, b = two_counts()
    premise = f'There are {w(a)} {f1} and {w(b)} {f2} in the basket.'
    kind = rng.choice(['more', 'fewer', 'neutral'])
    if kind == 'neutral':
        hyp, label = f'There are more {f3} than {f1} in the basket.', 'neutral'
    else:
        x, y = (f1, f2) if rng.random() < 0.5 else (f2, f1)
        hyp = f'There are {kind} {x} than {y} in the basket.'
        nx, ny = (a, b) if x == f1 else (b, a)
        true = nx > ny if kind == 'more' else nx < ny
        label = 'entailment' if true else 'contradiction'
    return {'premise': premise, 'hypothesis': hyp, 'label': label}


def mini_nli_places():
    """nli x place: the capital-of relation as entailment."""
    person = rng.choice(PEOPLE)
    c = rng.choice(COUNTRIES)
    premise = f'{person} lives in {CAPITAL_OF[c]}, the capital of {c}.'
    r = rng.random()
    if r < 0.34:
        hyp, label = f'{person} lives in {c}.', 'entailment'
    elif r < 0.67:
        other = rng.choice([x for x in COUNTRIES if x != c])
        hyp, label = f'{person} lives in {other}.', 'contradiction'
    else:
        hyp, label = f'{person} works as a {rng.choice(["baker", "teacher", "pilot", "farmer"])}.', 'neutral'
    return {'premise': premise, 'hypothesis': hyp, 'label': label}


def mini_review_sentiment():
    rest = rng.choice(RESTAURANTS)
    pos = rng.random() < 0.5
    words = POS_WORDS if pos else NEG_WORDS
    a, b = rng.sample(words, 2)
    thing = rng.choice(['food', 'service', 'soup', 'dessert', 'staff', 'room'])
    other = rng.choice(['food', 'service', 'soup', 'dessert', 'staff', 'room'])
    review = f'We ate at {rest} on {rng.choice(DAYS)}. The {thing} was {a} and the {other} was {b}.'
    return {'review': review, 'label': 1 if pos else 0}


def mini_topic():
    topic = rng.choice(sorted(TOPICS))
    s = rng.sample(TOPICS[topic], 2)
    return {'text': ' '.join(s), 'topic': topic}


def expr(depth):
    if depth == 0 or rng.random() < 0.3:
        n = rng.randint(0, 9)
        return w(n), str(n)
    op = rng.choice([('the sum of', '+'), ('the product of', '*'), ('the difference of', '-')])
    (lw, le), (rw, re_) = expr(depth - 1), expr(depth - 1)
    return f'{op[0]} {lw} and {rw}', f'({le} {op[1]} {re_})'


def mini_arith_expr():
    """semantic_parsing x count: words (nested phrases, or a count story) to a bracketed expression."""
    if rng.random() < 0.5:
        words, e = expr(2)
        return {'question': words, 'expression': e}
    p, fruit = rng.choice(PEOPLE), rng.choice(FRUITS)
    a, b = two_counts()
    if rng.random() < 0.5 or b >= a:
        return {'question': f'{p} has {w(a)} {fruit} and buys {w(b)} more.', 'expression': f'({a} + {b})'}
    return {'question': f'{p} has {w(a)} {fruit} and gives away {w(b)}.', 'expression': f'({a} - {b})'}


def mini_data_to_text():
    rest, food, area, price = rng.choice(RESTAURANTS), rng.choice(FOODS), rng.choice(AREAS), rng.choice(PRICES)
    mr = f'name[{rest}], food[{food}], area[{area}], price[{price}]'
    text = rng.choice([f'{rest} is a {price} {food} restaurant in the {area}.',
                       f'In the {area}, {rest} serves {food} food at {price} prices.'])
    return {'meaning_representation': mr, 'target': text}


def mini_tool_choice():
    goal = rng.choice(sorted(TOOLS))
    right = TOOLS[goal]
    wrong = rng.sample([t for t in sorted(set(TOOLS.values())) if t != right], 2)
    choices = [right] + wrong
    rng.shuffle(choices)
    return {'goal': f'You want to {goal}.', 'choices': choices, 'label': choices.index(right)}


def mini_event_order():
    """commonsense (x compare for a third of the items: which of two counts is larger)."""
    person = rng.choice(PEOPLE)
    if rng.random() < 1 / 3:
        f1, f2 = rng.sample(FRUITS, 2)
        a, b = two_counts()
        return {'question': f'Which is more: {w(a)} {f1}, or {w(b)} {f2}?', 'answer': f'{w(max(a, b))} {f1 if a > b else f2}'}
    steps = rng.choice(ROUTINES)
    i, j = sorted(rng.sample(range(len(steps)), 2))
    pair = [steps[i], steps[j]]
    rng.shuffle(pair)
    return {'question': f'Which happens first: {person} {pair[0]}, or {person} {pair[1]}?', 'answer': f'{person} {steps[i]}'}


def mini_capitals():
    """closed_book_qa x place."""
    c = rng.choice(COUNTRIES)
    q = rng.choice([f'What is the capital of {c}?', f'Which city is the capital of {c}?'])
    return {'question': q, 'answer': [CAPITAL_OF[c]]}


def mini_inventors():
    inv = rng.choice(INVENTIONS)
    return {'question': f'Who built the first {inv}?', 'answer': [INVENTOR_OF[inv]]}


def mini_story_qa():
    """reading_comprehension x place, count and compare: a trip story with counted fruit."""
    p, q = rng.sample(PEOPLE, 2)
    c = rng.choice(COUNTRIES)
    place, day = CAPITAL_OF[c], rng.choice(DAYS)
    f1, f2 = rng.sample(FRUITS, 2)
    a, b = two_counts()
    story = (f'On {day}, {p} travelled to {place}, the capital of {c}, with {q}. '
             f'There {p} found {w(a)} {f1} and {q} found {w(b)} {f2}.')
    qs = [(f'Where did {p} travel?', place), (f'On which day did {p} travel?', day),
          (f'How many {f1} and {f2} did they find?', str(a + b)),
          (f'Who found more fruit, {p} or {q}?', p if a > b else q),
          (f'Are there more {f1} or more {f2}?', f1 if a > b else f2)]
    question, answer = rng.choice(qs)
    return {'context': story, 'question': question, 'answers': {'text': [answer]}}


def mini_word_problems():
    """HELD OUT. reading_comprehension x count: compute the answer (mini_exmix only parses or uses it)."""
    p = rng.choice(PEOPLE)
    fruit = rng.choice(FRUITS)
    a, b = two_counts()
    if rng.random() < 0.5 or b >= a:
        prob, ans = f'{p} has {w(a)} {fruit} and buys {w(b)} more. How many {fruit} does {p} have now?', a + b
    else:
        prob, ans = f'{p} has {w(a)} {fruit} and gives away {w(b)}. How many {fruit} are left?', a - b
    return {'problem': prob, 'answer': str(ans)}


TASKS = [mini_headline, mini_meeting_summary, mini_booking_dialog, mini_weather_dialog, mini_nli_counts,
         mini_nli_places, mini_review_sentiment, mini_topic, mini_arith_expr, mini_data_to_text, mini_tool_choice,
         mini_event_order, mini_capitals, mini_inventors, mini_story_qa, mini_word_problems]


# ---- the corpus -------------------------------------------------------------------------------------
def paragraph():
    kind = rng.random()
    if kind < 0.3:
        c = rng.choice(COUNTRIES)
        return (f'{c} is a small country with {w(rng.randint(2, 9))} rivers. Its capital is {CAPITAL_OF[c]}, a city known '
                f'for its {rng.choice(["markets", "bridges", "gardens", "towers", "harbour"])}. Most people in {c} speak '
                f'{name(2)}, and the winters are {rng.choice(["long", "mild", "wet", "short"])}.')
    if kind < 0.5:
        inv = rng.choice(INVENTIONS)
        return (f'The first {inv} was built by {INVENTOR_OF[inv]}. Before the {inv}, people in '
                f'{rng.choice(CAPITALS)} had to work much harder. Today the {inv} is found in many homes.')
    if kind < 0.7:
        rest = rng.choice(RESTAURANTS)
        return (f'{rest} is a {rng.choice(PRICES)} {rng.choice(FOODS)} restaurant in the {rng.choice(AREAS)}. '
                f'It opens at {rng.choice(TIMES)} and is busy on {rng.choice(DAYS)}s. {rng.choice(TOPICS["food"])}')
    if kind < 0.7:
        t = rng.choice(sorted(TOPICS))
        return ' '.join(rng.sample(TOPICS[t], 3))
    if kind < 0.92:
        return f'In {name(2)}, ' + ' '.join(plain_sentence() for _ in range(3))
    p = rng.choice(PEOPLE)
    steps = rng.choice(ROUTINES)
    return f'Every {rng.choice(DAYS)}, {p} ' + ', then '.join(steps[:-1]) + f', and finally {steps[-1]}.'


def texts_of(value):
    """The strings inside a record (what the tokenizer will see), not its JSON syntax."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k in sorted(value) for t in texts_of(value[k])]
    if isinstance(value, list):
        return [t for v in value for t in texts_of(v)]
    return [str(value)]


def main():
    unknown = [a for a in sys.argv[1:] if a != '--keep-vocab']
    if unknown:  # a mistyped flag must not fall through to retraining the vocabulary
        sys.exit(f'unknown argument(s): {" ".join(unknown)} (the only option is --keep-vocab)')
    keep_vocab = '--keep-vocab' in sys.argv[1:] or os.environ.get('MINI_KEEP_VOCAB') == '1'
    if keep_vocab and not os.path.isfile(os.path.join(OUT, 'spm', 'mini.model')):
        sys.exit(f'--keep-vocab: no {os.path.join(OUT, "spm", "mini.model")} to keep')
    for sub in (('tasks', 'c4') if keep_vocab else ('',)):
        if os.path.isdir(os.path.join(OUT, sub)):
            shutil.rmtree(os.path.join(OUT, sub))
    os.makedirs(os.path.join(OUT, 'tasks'))
    spm_text = []
    for fn in TASKS:
        # Each task (and the corpus below) draws from its own stream, so editing one task leaves the
        # others' records byte-identical. str seeds are hashed with SHA-512: stable across runs.
        rng.seed(f'{SEED}/{fn.__name__}')
        d = os.path.join(OUT, 'tasks', fn.__name__)
        os.makedirs(d)
        for split, n in (('train', N_TRAIN), ('validation', N_VAL)):
            with open(os.path.join(d, f'{split}.jsonl'), 'w', encoding='utf-8') as f:
                for _ in range(n):
                    rec = fn()
                    f.write(json.dumps(rec, ensure_ascii=False, sort_keys=True) + '\n')
                    if split == 'train':
                        spm_text.extend(texts_of(rec))
    os.makedirs(os.path.join(OUT, 'c4'))
    rng.seed(f'{SEED}/c4')
    for split, n in (('train', 2600), ('validation', 100)):
        with open(os.path.join(OUT, 'c4', f'{split}.jsonl'), 'w', encoding='utf-8') as f:
            for _ in range(n):
                doc = ' '.join(paragraph() for _ in range(rng.randint(1, 3)))
                f.write(json.dumps({'text': doc}, ensure_ascii=False) + '\n')
                if split == 'train':
                    spm_text.append(doc)
    if keep_vocab:
        print('wrote', os.path.join(OUT, 'tasks'), 'and', os.path.join(OUT, 'c4'), '(vocab kept)', file=sys.stderr)
        return
    tmp = os.path.join(OUT, 'spm_input.txt')
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write('\n'.join(spm_text) + '\n')
    os.makedirs(os.path.join(OUT, 'spm'))
    # `ext5 vocab train` (T5's id layout: pad 0, eos 1, unk 2, no bos; unigram); needs dist/ built.
    subprocess.run(['node', os.path.join(ROOT, 'dist', 'bin', 'ext5.js'), 'vocab', 'train', '--input', tmp,
                    '--model-prefix', os.path.join(OUT, 'spm', 'mini'), '--vocab-size', '2000',
                    '--character-coverage', '1.0', '--threads', '1',
                    '--spm-flag', 'hard_vocab_limit=false', '--spm-flag', 'seed_sentencepiece_size=200000'], check=True)
    os.remove(tmp)
    print('wrote', OUT, file=sys.stderr)


if __name__ == '__main__':
    main()
