//! Splits a message into sentences so each can get its own emoji (`emojify text`).

/// Abbreviations whose trailing `.` does not end a sentence.
const ABBREVIATIONS: [&str; 12] = [
    "mr.", "mrs.", "ms.", "dr.", "st.", "vs.", "e.g.", "i.e.", "etc.", "jr.", "sr.", "prof.",
];

/// Splits `text` after each run of `.`, `!` or `?` (with any closing quotes or brackets) that
/// is followed by whitespace or the end, and at line breaks. Each piece keeps its punctuation
/// and is trimmed; empty pieces are dropped, so the result is empty only for blank input.
pub fn split_sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.lines() {
        split_line(line, &mut out);
    }
    out
}

fn split_line<'a>(line: &'a str, out: &mut Vec<&'a str>) {
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        let (_, c) = chars[i];
        if !matches!(c, '.' | '!' | '?') {
            i += 1;
            continue;
        }
        // Take the whole terminator: `?!`, `...`, then closing quotes or brackets.
        let mut j = i;
        while j < chars.len() && matches!(chars[j].1, '.' | '!' | '?') {
            j += 1;
        }
        while j < chars.len()
            && matches!(chars[j].1, '"' | '\'' | ')' | ']' | '\u{201d}' | '\u{2019}')
        {
            j += 1;
        }
        let end = chars.get(j).map_or(line.len(), |&(b, _)| b);
        let at_boundary = j == chars.len() || chars[j].1.is_whitespace();
        if at_boundary && !ends_with_abbreviation(&line[start..end]) {
            push_trimmed(&line[start..end], out);
            start = end;
        }
        i = j.max(i + 1);
    }
    push_trimmed(&line[start..], out);
}

fn ends_with_abbreviation(piece: &str) -> bool {
    let last = piece.split_whitespace().last().unwrap_or("").to_lowercase();
    ABBREVIATIONS.contains(&last.as_str())
}

fn push_trimmed<'a>(piece: &'a str, out: &mut Vec<&'a str>) {
    let piece = piece.trim();
    if !piece.is_empty() {
        out.push(piece);
    }
}

#[cfg(test)]
mod tests {
    use super::split_sentences;

    #[test]
    fn splits_the_apps_example() {
        assert_eq!(
            split_sentences(
                "Congratulations on the promotion! Lets get coffee and talk. Love you!"
            ),
            [
                "Congratulations on the promotion!",
                "Lets get coffee and talk.",
                "Love you!"
            ]
        );
    }

    #[test]
    fn keeps_runs_quotes_abbreviations_and_decimals_together() {
        assert_eq!(
            split_sentences("Wow!!! Did Dr. Smith pay 3.50? \"Yes.\" Then lunch"),
            [
                "Wow!!!",
                "Did Dr. Smith pay 3.50?",
                "\"Yes.\"",
                "Then lunch"
            ]
        );
    }

    #[test]
    fn line_breaks_split_and_blank_input_gives_nothing() {
        assert_eq!(
            split_sentences("hi there\nsee you"),
            ["hi there", "see you"]
        );
        assert!(split_sentences("  \n\t ").is_empty());
        assert!(split_sentences("").is_empty());
        assert_eq!(split_sentences("..."), ["..."]);
    }
}
