/**
 * The emoji the composer's picker offers: a short, curated list of common ones by category, each
 * with the name a screen reader says (CLDR short names). Single code points or well-supported
 * sequences only, so that every one has a glyph in Noto Color Emoji. Pure.
 */

export type Emoji = { char: string; name: string };
export type EmojiCategory = { id: string; label: string; emoji: Emoji[] };

const list = (pairs: string): Emoji[] =>
  pairs
    .trim()
    .split('\n')
    .map((line) => {
      const [char, ...name] = line.trim().split(' ');
      return { char: char as string, name: name.join(' ') };
    });

export const EMOJI_CATEGORIES: readonly EmojiCategory[] = [
  {
    id: 'smileys',
    label: 'Smileys',
    emoji: list(`
      😀 grinning face
      😃 grinning face with big eyes
      😄 grinning face with smiling eyes
      😁 beaming face with smiling eyes
      😆 grinning squinting face
      😅 grinning face with sweat
      😂 face with tears of joy
      🤣 rolling on the floor laughing
      🙂 slightly smiling face
      🙃 upside-down face
      😉 winking face
      😊 smiling face with smiling eyes
      😇 smiling face with halo
      🥰 smiling face with hearts
      😍 smiling face with heart-eyes
      🤩 star-struck
      😘 face blowing a kiss
      😋 face savoring food
      😛 face with tongue
      😜 winking face with tongue
      🤪 zany face
      🤗 smiling face with open hands
      🤔 thinking face
      🤐 zipper-mouth face
      🤨 face with raised eyebrow
      😐 neutral face
      😑 expressionless face
      😶 face without mouth
      😏 smirking face
      😒 unamused face
      🙄 face with rolling eyes
      😬 grimacing face
      😌 relieved face
      😔 pensive face
      😪 sleepy face
      😴 sleeping face
      😷 face with medical mask
      🤒 face with thermometer
      🤧 sneezing face
      🥵 hot face
      🥶 cold face
      😵 face with crossed-out eyes
      🤯 exploding head
      🥳 partying face
      😎 smiling face with sunglasses
      🤓 nerd face
      😕 confused face
      😟 worried face
      😮 face with open mouth
      😲 astonished face
      😳 flushed face
      🥺 pleading face
      😢 crying face
      😭 loudly crying face
      😱 face screaming in fear
      😩 weary face
      😤 face with steam from nose
      😠 angry face
      😡 enraged face
      🤬 face with symbols on mouth
    `),
  },
  {
    id: 'gestures',
    label: 'People and gestures',
    emoji: list(`
      👋 waving hand
      🤚 raised back of hand
      ✋ raised hand
      👌 OK hand
      🤌 pinched fingers
      ✌️ victory hand
      🤞 crossed fingers
      🤟 love-you gesture
      🤘 sign of the horns
      🤙 call me hand
      👈 backhand index pointing left
      👉 backhand index pointing right
      👆 backhand index pointing up
      👇 backhand index pointing down
      👍 thumbs up
      👎 thumbs down
      ✊ raised fist
      👊 oncoming fist
      👏 clapping hands
      🙌 raising hands
      👐 open hands
      🤝 handshake
      🙏 folded hands
      💪 flexed biceps
      👀 eyes
      🧠 brain
      🤷 person shrugging
      🤦 person facepalming
      🙋 person raising hand
      🙈 see-no-evil monkey
    `),
  },
  {
    id: 'hearts',
    label: 'Hearts and symbols',
    emoji: list(`
      ❤️ red heart
      🧡 orange heart
      💛 yellow heart
      💚 green heart
      💙 blue heart
      💜 purple heart
      🖤 black heart
      🤍 white heart
      💔 broken heart
      💕 two hearts
      💖 sparkling heart
      💯 hundred points
      ✨ sparkles
      ⭐ star
      🔥 fire
      💥 collision
      💬 speech balloon
      💤 ZZZ
      ✅ check mark button
      ❌ cross mark
      ❓ red question mark
      ❗ red exclamation mark
      ⚠️ warning
      🚫 prohibited
    `),
  },
  {
    id: 'nature',
    label: 'Animals and nature',
    emoji: list(`
      🐶 dog face
      🐱 cat face
      🐭 mouse face
      🐰 rabbit face
      🦊 fox
      🐻 bear
      🐼 panda
      🐨 koala
      🐯 tiger face
      🦁 lion
      🐮 cow face
      🐷 pig face
      🐸 frog
      🐵 monkey face
      🐔 chicken
      🐧 penguin
      🐦 bird
      🦄 unicorn
      🐝 honeybee
      🦋 butterfly
      🐢 turtle
      🐙 octopus
      🌸 cherry blossom
      🌹 rose
      🌻 sunflower
      🌱 seedling
      🌲 evergreen tree
      🍀 four leaf clover
      🌈 rainbow
      ☀️ sun
      🌙 crescent moon
      ⛄ snowman without snow
    `),
  },
  {
    id: 'food',
    label: 'Food and drink',
    emoji: list(`
      🍎 red apple
      🍌 banana
      🍓 strawberry
      🍉 watermelon
      🍒 cherries
      🥑 avocado
      🥕 carrot
      🌽 ear of corn
      🍞 bread
      🧀 cheese wedge
      🍕 pizza
      🍔 hamburger
      🍟 french fries
      🌮 taco
      🍣 sushi
      🍜 steaming bowl
      🍰 shortcake
      🎂 birthday cake
      🍪 cookie
      🍫 chocolate bar
      ☕ hot beverage
      🍵 teacup without handle
      🍺 beer mug
      🍷 wine glass
    `),
  },
  {
    id: 'things',
    label: 'Activities and things',
    emoji: list(`
      🎉 party popper
      🎁 wrapped gift
      🎈 balloon
      🏆 trophy
      ⚽ soccer ball
      🏀 basketball
      🎮 video game
      🎵 musical note
      🎸 guitar
      📷 camera
      💻 laptop
      📱 mobile phone
      ⏰ alarm clock
      📅 calendar
      📌 pushpin
      📎 paperclip
      🔒 locked
      🔑 key
      💡 light bulb
      📚 books
      ✏️ pencil
      🚀 rocket
      ✈️ airplane
      🚗 automobile
      🏠 house
      🌍 globe showing Europe-Africa
    `),
  },
];
