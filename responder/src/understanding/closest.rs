//! The topics closest to a phrase the bot did not understand, for «Sin entender»: where a
//! maintainer would most likely add it as a keyword. Off the webhook path (the `contacto
//! sin-entender` listing and the console), so it may look at every keyword.
//!
//! A topic is close when one of its keywords' stems is one of the phrase's stems, or within a
//! looser typo allowance than understanding uses (one edit from four letters, two from seven,
//! any first sound): a suggestion a person checks, not an answer.

use std::collections::HashMap;

use schemas::masking::is_placeholder;
use schemas::{Target, Topic};

use super::{Understanding, distance_within, words};

/// Stems shorter than this suggest nothing («de», «la», «mi»).
const MIN_STEM: usize = 4;

/// Edits tolerated between a phrase's stem and a keyword's.
fn loose_allowance(len: usize) -> usize {
    if len >= 7 { 2 } else { 1 }
}

impl Understanding {
    /// Up to `max` topics whose keywords come closest to the words of a masked phrase (normalised, see
    /// [`schemas::masking`]), the
    /// closest first (topics in catalogue order on a tie); none when nothing is close.
    pub fn closest_topics(&self, phrase: &str, max: usize) -> Vec<Topic> {
        let stems: Vec<String> = phrase
            .split(' ')
            .filter(|w| w.len() >= MIN_STEM && !is_placeholder(w))
            .map(|w| words::stem(w).into_owned())
            .collect();
        let mut closest: HashMap<Topic, usize> = HashMap::new();
        for keyword in &self.keywords.all {
            let Target::Topic(topic) = keyword.value.target else { continue };
            if topic.is_system() {
                continue;
            }
            for key in keyword.keys.iter().filter(|k| k.len() >= MIN_STEM) {
                for stem in &stems {
                    let allowance = loose_allowance(key.len().max(stem.len()));
                    if let Some(d) = distance_within(stem, key, allowance) {
                        let best = closest.entry(topic).or_insert(d);
                        *best = (*best).min(d);
                    }
                }
            }
        }
        let position = |t: Topic| self.topics.subjects().position(|s| s == t).unwrap_or(usize::MAX);
        let mut topics: Vec<(usize, usize, Topic)> = closest.into_iter().map(|(t, d)| (d, position(t), t)).collect();
        topics.sort();
        topics.into_iter().take(max).map(|(_, _, t)| t).collect()
    }
}

#[cfg(test)]
mod tests {
    use schemas::Topic;

    use super::super::Understanding;
    use super::super::tests::table;

    #[test]
    fn phrases_suggest_the_topics_of_their_nearest_keywords() {
        let u = Understanding::compile(&table());
        assert_eq!(u.closest_topics("donde me vacunan a los abuelos", 3), [Topic::from_static("vacunas")]);
        assert_eq!(u.closest_topics("cuantas muertas hubo ayer", 3), [Topic::from_static("defunciones")]);
        assert_eq!(
            u.closest_topics("me llamo [nombre] quiero cita para fumigar", 3),
            [],
            "placeholders suggest nothing"
        );
        assert_eq!(u.closest_topics("xyz qwerty", 3), []);
    }
}
