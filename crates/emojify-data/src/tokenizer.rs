//! Splits sentences the way GloVe 6B's vocabulary was built (Stanford/PTB style): lower case,
//! punctuation as tokens of its own, and clitics split off (`let's` → `let 's`, `don't` → `do n't`).

/// Clitic suffixes GloVe 6B keeps as separate tokens.
const CLITICS: [&str; 6] = ["'s", "'re", "'ve", "'ll", "'d", "'m"];

/// Tokenizes one sentence. Never fails: any input, including an empty one, gives a (possibly
/// empty) token list.
pub fn tokenize(text: &str) -> Vec<String> {
    let normalized: String = text
        .chars()
        .map(|c| match c {
            '\u{2018}' | '\u{2019}' | '`' => '\'',
            '\u{201c}' | '\u{201d}' => '"',
            c => c,
        })
        .collect::<String>()
        .to_lowercase();
    let mut tokens = Vec::new();
    for chunk in normalized.split_whitespace() {
        split_chunk(chunk, &mut tokens);
    }
    tokens
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric()
}

/// Takes one leading or trailing punctuation token: a run of one repeated character (`...`,
/// `!!`) or a single character.
fn punct_run(s: &str, from_end: bool) -> usize {
    let mut chars: Box<dyn Iterator<Item = char>> = if from_end {
        Box::new(s.chars().rev())
    } else {
        Box::new(s.chars())
    };
    let Some(first) = chars.next() else { return 0 };
    let mut len = first.len_utf8();
    for c in chars {
        if c != first {
            break;
        }
        len += c.len_utf8();
    }
    len
}

fn split_chunk(chunk: &str, out: &mut Vec<String>) {
    let mut core = chunk;
    // Leading punctuation, e.g. `"hello` or `(really`.
    while let Some(c) = core.chars().next() {
        if is_word_char(c) {
            break;
        }
        // A leading clitic such as `'s` after a split by whitespace is a token in itself.
        if CLITICS.contains(&core) || core == "n't" {
            break;
        }
        let n = punct_run(core, false);
        out.push(core[..n].to_string());
        core = &core[n..];
    }
    // Trailing punctuation, collected in reverse.
    let mut trailing = Vec::new();
    while let Some(c) = core.chars().next_back() {
        if is_word_char(c) || core.is_empty() {
            break;
        }
        if CLITICS.contains(&core) || core == "n't" {
            break;
        }
        let n = punct_run(core, true);
        trailing.push(core[core.len() - n..].to_string());
        core = &core[..core.len() - n];
    }
    if !core.is_empty() {
        split_clitic(core, out);
    }
    out.extend(trailing.into_iter().rev());
}

fn split_clitic(word: &str, out: &mut Vec<String>) {
    if word.len() > 3 && word.ends_with("n't") {
        out.push(word[..word.len() - 3].to_string());
        out.push("n't".to_string());
        return;
    }
    for clitic in CLITICS {
        if word.len() > clitic.len() && word.ends_with(clitic) {
            out.push(word[..word.len() - clitic.len()].to_string());
            out.push(clitic.to_string());
            return;
        }
    }
    out.push(word.to_string());
}

#[cfg(test)]
mod tests {
    use super::tokenize;

    fn t(s: &str) -> Vec<String> {
        tokenize(s)
    }

    #[test]
    fn splits_punctuation_and_clitics_like_glove() {
        assert_eq!(t("tonight!"), ["tonight", "!"]);
        assert_eq!(t("Let's go"), ["let", "'s", "go"]);
        assert_eq!(t("don't"), ["do", "n't"]);
        assert_eq!(
            t("I can't, really."),
            ["i", "ca", "n't", ",", "really", "."]
        );
        assert_eq!(
            t("I’m \"happy\"..."),
            ["i", "'m", "\"", "happy", "\"", "..."]
        );
        assert_eq!(t("(wow)!!"), ["(", "wow", ")", "!!"]);
        assert_eq!(
            t("we'll they've you're he'd"),
            ["we", "'ll", "they", "'ve", "you", "'re", "he", "'d"]
        );
    }

    #[test]
    fn keeps_inner_punctuation_and_numbers() {
        assert_eq!(t("well-known 3.5 u.s."), ["well-known", "3.5", "u.s", "."]);
    }

    #[test]
    fn empty_and_blank_input_give_no_tokens() {
        assert!(t("").is_empty());
        assert!(t(" \t\n").is_empty());
        assert_eq!(t("!?"), ["!", "?"]);
    }

    #[test]
    fn lowercases_and_splits_on_any_whitespace() {
        assert_eq!(t("Funny\tLOL\n"), ["funny", "lol"]);
    }
}
