//! The change to a trust policy as a unified diff of its pretty JSON, shown before it is made.
//! Written here (a longest common subsequence of lines) rather than taken from a crate: trust
//! policies are a few hundred lines at most (8,192 characters), so the quadratic table is small.

use serde_json::Value;

/// Lines of context around each change, as `diff -u` shows.
const CONTEXT: usize = 3;

/// `diff -u` of the two policies' pretty JSON, headed `--- from` and `+++ to`; empty when equal.
pub fn unified(before: Option<&Value>, after: &Value, from: &str, to: &str) -> String {
    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap_or_default();
    let old = before.map(pretty).unwrap_or_default();
    let new = pretty(after);
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let edits = edits(&old, &new);
    if edits.iter().all(|edit| matches!(edit, Edit::Same(..))) {
        return String::new();
    }
    let mut text = format!("--- {from}\n+++ {to}\n");
    for hunk in hunks(&edits) {
        text.push_str(&render(&edits[hunk.0..hunk.1], &old, &new));
    }
    text
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Edit {
    /// Line `.0` of the old text equals line `.1` of the new.
    Same(usize, usize),
    Removed(usize),
    Added(usize),
}

/// The edit script from `old` to `new`, from a table of longest common suffixes.
fn edits(old: &[&str], new: &[&str]) -> Vec<Edit> {
    let (n, m) = (old.len(), new.len());
    let mut table = vec![vec![0_u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i][j] = if old[i] == new[j] {
                table[i + 1][j + 1] + 1
            } else {
                table[i + 1][j].max(table[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut edits) = (0, 0, Vec::with_capacity(n + m));
    while i < n || j < m {
        if i < n && j < m && old[i] == new[j] {
            edits.push(Edit::Same(i, j));
            (i, j) = (i + 1, j + 1);
        } else if i < n && (j == m || table[i + 1][j] >= table[i][j + 1]) {
            // Removals before additions, as diff -u shows a replaced line.
            edits.push(Edit::Removed(i));
            i += 1;
        } else {
            edits.push(Edit::Added(j));
            j += 1;
        }
    }
    edits
}

/// Ranges of `edits` to show: each change with up to [`CONTEXT`] unchanged lines around it,
/// ranges that touch merged.
fn hunks(edits: &[Edit]) -> Vec<(usize, usize)> {
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for (index, edit) in edits.iter().enumerate() {
        if matches!(edit, Edit::Same(..)) {
            continue;
        }
        let (start, end) = (
            index.saturating_sub(CONTEXT),
            (index + CONTEXT + 1).min(edits.len()),
        );
        match hunks.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => hunks.push((start, end)),
        }
    }
    hunks
}

fn render(edits: &[Edit], old: &[&str], new: &[&str]) -> String {
    // Where the hunk starts in each text (1-based), and how many lines of each it covers.
    let (mut old_start, mut new_start) = (None, None);
    let (mut old_count, mut new_count) = (0, 0);
    let mut body = String::new();
    for edit in edits {
        let (sign, line) = match *edit {
            Edit::Same(i, j) => {
                old_start.get_or_insert(i);
                new_start.get_or_insert(j);
                (old_count, new_count) = (old_count + 1, new_count + 1);
                (' ', old[i])
            }
            Edit::Removed(i) => {
                old_start.get_or_insert(i);
                old_count += 1;
                ('-', old[i])
            }
            Edit::Added(j) => {
                new_start.get_or_insert(j);
                new_count += 1;
                ('+', new[j])
            }
        };
        body.push(sign);
        body.push_str(line);
        body.push('\n');
    }
    // diff -u numbers an empty side by the line before it.
    let at = |start: Option<usize>, count: usize| match (start, count) {
        (_, 0) => format!("{},0", start.unwrap_or(0)),
        (Some(start), count) => format!("{},{count}", start + 1),
        (None, count) => format!("1,{count}"),
    };
    format!(
        "@@ -{} +{} @@\n{body}",
        at(old_start, old_count),
        at(new_start, new_count)
    )
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    /// `patch -p0` of a unified diff: the new text from the old one and the hunks.
    fn patch(old: &str, diff: &str) -> String {
        let old: Vec<&str> = old.lines().collect();
        let (mut new, mut next) = (Vec::new(), 0);
        for line in diff.lines().skip(2) {
            if let Some(header) = line.strip_prefix("@@ -") {
                let start: usize = header.split([',', ' ']).next().unwrap().parse().unwrap();
                // An empty old side is numbered by the line before it.
                let start = if header.split(' ').next().unwrap().ends_with(",0") {
                    start
                } else {
                    start - 1
                };
                new.extend_from_slice(&old[next..start]);
                next = start;
            } else if let Some(kept) = line.strip_prefix(' ') {
                assert_eq!(old[next], kept);
                new.push(kept);
                next += 1;
            } else if let Some(gone) = line.strip_prefix('-') {
                assert_eq!(old[next], gone);
                next += 1;
            } else {
                new.push(line.strip_prefix('+').unwrap());
            }
        }
        new.extend_from_slice(&old[next..]);
        new.iter().map(|line| format!("{line}\n")).collect()
    }

    fn policy() -> impl Strategy<Value = Value> {
        prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "d"]), 0..12)
            .prop_map(|subs| json!({"Version": "2012-10-17", "Statement": subs.iter().map(|s| json!({"Sub": s})).collect::<Vec<_>>()}))
    }

    proptest! {
        #[test]
        fn the_diff_patches_the_old_policy_into_the_new(before in policy(), after in policy()) {
            let diff = unified(Some(&before), &after, "a", "b");
            let old = format!("{}\n", serde_json::to_string_pretty(&before).unwrap());
            let new = format!("{}\n", serde_json::to_string_pretty(&after).unwrap());
            if before == after {
                prop_assert_eq!(diff, "");
            } else {
                prop_assert_eq!(patch(&old, &diff), new);
            }
        }
    }

    #[test]
    fn an_added_subject_shows_as_one_line_out_and_two_in() {
        let before = json!({"Statement": [{"Sub": "a"}]});
        let after = json!({"Statement": [{"Sub": ["a", "b"]}]});
        assert_eq!(
            unified(Some(&before), &after, "now", "after"),
            "--- now\n+++ after\n@@ -1,7 +1,10 @@\n \
             {\n   \"Statement\": [\n     {\n\
             -      \"Sub\": \"a\"\n\
             +      \"Sub\": [\n+        \"a\",\n+        \"b\"\n+      ]\n     \
             }\n   ]\n }\n"
        );
    }

    #[test]
    fn equal_policies_give_no_diff() {
        let policy = json!({"Statement": []});
        assert_eq!(unified(Some(&policy), &policy, "a", "b"), "");
    }

    #[test]
    fn a_new_policy_is_all_added() {
        let diff = unified(None, &json!({"A": 1}), "/dev/null", "new");
        assert_eq!(
            diff,
            "--- /dev/null\n+++ new\n@@ -0,0 +1,3 @@\n+{\n+  \"A\": 1\n+}\n"
        );
    }

    #[test]
    fn far_apart_changes_get_hunks_of_their_own() {
        let keys: Vec<String> = (0..20).map(|i| format!("k{i:02}")).collect();
        let before: serde_json::Map<String, Value> =
            keys.iter().map(|k| (k.clone(), json!(0))).collect();
        let mut after = before.clone();
        after.insert("k01".into(), json!(1));
        after.insert("k18".into(), json!(1));
        let diff = unified(
            Some(&Value::Object(before)),
            &Value::Object(after),
            "a",
            "b",
        );
        assert_eq!(diff.matches("\n@@ ").count(), 2, "{diff}");
        assert!(
            diff.contains("@@ -1,6 +1,6 @@\n {\n   \"k00\": 0,\n-  \"k01\": 0,\n+  \"k01\": 1,\n"),
            "{diff}"
        );
        assert!(diff.contains("@@ -17,6 +17,6 @@\n"), "{diff}");
    }
}
