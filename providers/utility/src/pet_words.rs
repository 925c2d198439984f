//! The words of `random_pet`. The provider draws from the published lists of
//! dustinkirkland/golang-petname (hundreds of words each); forge keeps short lists of its
//! own, so names come from a smaller space (60 adjectives × 85 animals for the
//! default two words) and never repeat the provider's exact vocabulary.

pub(crate) const ADVERBS: &[&str] = &[
    "amply", "boldly", "briskly", "calmly", "deftly", "eagerly", "evenly", "fairly", "firmly",
    "gently", "gladly", "highly", "keenly", "kindly", "lightly", "loudly", "mostly", "neatly",
    "nicely", "openly", "partly", "quickly", "quietly", "rarely", "really", "simply", "slowly",
    "smoothly", "softly", "surely", "swiftly", "truly", "vastly", "warmly", "wisely",
];

pub(crate) const ADJECTIVES: &[&str] = &[
    "able", "agile", "amber", "ample", "azure", "bold", "brave", "bright", "brisk", "calm",
    "clever", "cosmic", "crisp", "curious", "daring", "dapper", "eager", "early", "fair", "fancy",
    "fine", "fleet", "fond", "frank", "gentle", "glad", "golden", "grand", "happy", "hardy",
    "honest", "humble", "jolly", "keen", "kind", "lively", "loyal", "lucky", "merry", "mellow",
    "modest", "neat", "nimble", "noble", "plucky", "polite", "proud", "quick", "quiet", "rapid",
    "ready", "robust", "rosy", "sharp", "shiny", "steady", "sunny", "swift", "tidy", "witty",
];

pub(crate) const ANIMALS: &[&str] = &[
    "alpaca", "ant", "badger", "bat", "bear", "beaver", "bison", "boar", "bobcat", "camel", "cat",
    "cheetah", "cod", "condor", "cougar", "coyote", "crab", "crane", "crow", "deer", "dingo",
    "dog", "dolphin", "donkey", "dove", "duck", "eagle", "eel", "elk", "falcon", "ferret", "finch",
    "fox", "frog", "gecko", "gibbon", "goat", "goose", "gopher", "hare", "hawk", "heron", "horse",
    "ibis", "jackal", "jaguar", "koala", "lark", "lemur", "lion", "llama", "lynx", "marten",
    "mink", "mole", "moose", "moth", "mouse", "newt", "okapi", "orca", "otter", "owl", "panda",
    "parrot", "pelican", "puffin", "quail", "rabbit", "raven", "seal", "shrew", "sloth", "snail",
    "stork", "swan", "tapir", "tiger", "toad", "walrus", "weasel", "wolf", "wombat", "yak",
    "zebra",
];
