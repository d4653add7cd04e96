//! Messages as people type them, brought to the words GloVe 6B and the training set know:
//! emoticons and hearts become words (`:)` → smile, `<3` → love), contractions' clitics their
//! full words (`n't` → not, `'m` → am), common slang its spelling (`u` → you, `gonna` → going
//! to), letters repeated for emphasis are collapsed until the word is known (`sooo` → so), and
//! punctuation tokens, which the training sentences never contain, are dropped.
//! Used only where a config asks for it (`data.normalize`).

/// Emoticons replaced by a word before tokenizing (longest first, so `:'(` is not read as `:(`).
const EMOTICONS: [(&str, &str); 16] = [
    (":'(", " sad "),
    (":-)", " smile "),
    (":-(", " sad "),
    (":-d", " laugh "),
    (":)", " smile "),
    ("(:", " smile "),
    (":(", " sad "),
    (":d", " laugh "),
    (";)", " smile "),
    ("=)", " smile "),
    (":p", " laugh "),
    ("<3", " love "),
    ("</3", " sad "),
    ("\u{2764}\u{fe0f}", " love "),
    ("\u{2764}", " love "),
    ("xoxo", " love "),
];

/// Slang and clitics, token by token.
const SUBSTITUTES: [(&str, &str); 30] = [
    ("n't", "not"),
    ("'m", "am"),
    ("'re", "are"),
    ("'ll", "will"),
    ("'ve", "have"),
    ("ca", "can"),
    ("wo", "will"),
    ("u", "you"),
    ("ur", "your"),
    ("ya", "you"),
    ("luv", "love"),
    ("wuv", "love"),
    ("ily", "i love you"),
    ("ilysm", "i love you so much"),
    ("gonna", "going to"),
    ("wanna", "want to"),
    ("gotta", "got to"),
    ("omg", "oh my god"),
    ("lol", "laugh"),
    ("haha", "laugh"),
    ("hahaha", "laugh"),
    ("pls", "please"),
    ("plz", "please"),
    ("thx", "thanks"),
    ("bday", "birthday"),
    ("gr8", "great"),
    ("cuz", "because"),
    ("jk", "joking"),
    ("xx", "love"),
    ("yay", "happy"),
];

/// The text with emoticons replaced by words (lower case, as the tokenizer will make it).
pub fn normalize_text(text: &str) -> String {
    let mut s = text.to_lowercase();
    for (emoticon, word) in EMOTICONS {
        s = s.replace(emoticon, word);
    }
    s
}

/// Tokens with slang spelt out, emphasis collapsed where that gives a `known` word, and
/// punctuation dropped.
pub fn normalize_tokens(tokens: Vec<String>, known: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::with_capacity(tokens.len());
    for token in tokens {
        if !token.chars().any(char::is_alphanumeric) {
            continue;
        }
        if let Some((_, words)) = SUBSTITUTES.iter().find(|(from, _)| *from == token) {
            out.extend(words.split(' ').map(str::to_string));
            continue;
        }
        out.push(if known(&token) {
            token
        } else {
            collapse(&token, &known)
        });
    }
    out
}

/// `word` with runs of 3+ repeated letters cut to two, then to one, as soon as it is `known`;
/// unchanged when neither is.
fn collapse(word: &str, known: &impl Fn(&str) -> bool) -> String {
    let cut = |keep: usize| {
        let mut s = String::with_capacity(word.len());
        let (mut last, mut run) = (None, 0);
        for c in word.chars() {
            run = if Some(c) == last { run + 1 } else { 1 };
            last = Some(c);
            if run <= keep {
                s.push(c);
            }
        }
        s
    };
    let has_run = word
        .chars()
        .zip(word.chars().skip(1))
        .zip(word.chars().skip(2))
        .any(|((a, b), c)| a == b && b == c);
    if !has_run {
        return word.to_string();
    }
    [cut(2), cut(1)]
        .into_iter()
        .find(|w| known(w))
        .unwrap_or_else(|| word.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize;

    fn norm(text: &str) -> Vec<String> {
        let known = ["so", "good", "happy", "yes", "cool", "too"];
        normalize_tokens(tokenize(&normalize_text(text)), |w| known.contains(&w))
    }

    #[test]
    fn messages_become_words_the_model_knows() {
        assert_eq!(norm("I don't like it."), ["i", "do", "not", "like", "it"]);
        assert_eq!(norm("Love u <3"), ["love", "you", "love"]);
        assert_eq!(norm("sooo gooood!!! :)"), ["so", "good", "smile"]);
        assert_eq!(norm("I'm sad :'("), ["i", "am", "sad", "sad"]);
        assert_eq!(norm("can't, won't"), ["can", "not", "will", "not"]);
        assert_eq!(norm("gonna be cool"), ["going", "to", "be", "cool"]);
        assert_eq!(norm("yesss, tooo"), ["yes", "too"]);
        assert_eq!(norm("zzzz"), ["zzzz"], "unknown either way: kept");
        assert_eq!(norm("!!! ?!"), Vec::<String>::new());
    }
}
