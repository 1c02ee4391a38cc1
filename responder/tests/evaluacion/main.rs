//! The evaluation of understanding: every message of `mensajes.tsv` (written the way citizens
//! write on WhatsApp) through the responder's own [`Understanding`], with the router table of
//! the bundled menu file. Prints the accuracy by class of message and the confusions, and fails
//! below the accuracy reached, so that a change that understands citizens worse is seen.
//!
//! `cargo test -p responder --test evaluacion -- --nocapture` shows the figures.

mod conjunto;

use std::collections::BTreeMap;

use conjunto::{Expected, as_expected, bundled_router, cases, understand_all};
use responder::understanding::Understanding;
use schemas::{Scope, Topic};

/// The overall accuracy below which the test fails: 99.5 % reached (383 of 385), less a small
/// margin; it was 81.8 % before keywords were matched on their stems, 95.6 % on this set before
/// phrases allowed small words inside them and negated opt-ins counted in any form.
const MIN_ACCURACY: f64 = 0.98;

fn label(expected: &Expected) -> String {
    match expected {
        Expected::Topic(topic, Scope::Estado) => topic.slug().to_owned(),
        Expected::Topic(topic, scope) => format!("{} en {}", topic.slug(), scope.display_name()),
        Expected::Menu(menu) => format!("menú {}", menu.as_str()),
        Expected::Ask => "preguntar".into(),
        Expected::Help => "ayuda".into(),
    }
}

/// The class of a label, for the confusion table: a topic (the place named only when it is
/// all that went wrong), or the kind.
fn kind(expected: &Expected, other: &Expected) -> String {
    match (expected, other) {
        (Expected::Topic(topic, scope), Expected::Topic(same, elsewhere)) if topic == same && scope != elsewhere => {
            format!("{} en {}", topic.slug(), if *scope == Scope::Estado { "el estado" } else { "un municipio" })
        }
        (Expected::Topic(topic, _), _) => topic.slug().to_owned(),
        _ => label(expected),
    }
}

#[test]
fn citizens_messages_are_understood() {
    let router = bundled_router();
    let understanding = Understanding::compile(&router);
    let cases = cases();
    assert!(cases.len() >= 300, "the evaluation set has {} messages", cases.len());
    let intents = understand_all(&understanding, &router, &cases);

    let mut by_class: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut confusions: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut wrong_subscriptions = Vec::new();
    for (case, intent) in cases.iter().zip(&intents) {
        let got = as_expected(intent);
        // Precision before recall: a subscription nobody asked for is the worst mistake.
        if matches!(got, Expected::Topic(Topic::CONECTATE_ALTA, _))
            && !matches!(case.expected, Expected::Topic(Topic::CONECTATE_ALTA, _))
        {
            wrong_subscriptions.push(case.message.as_str());
        }
        let right = got == case.expected;
        let tally = by_class.entry(case.class.as_str()).or_default();
        tally.1 += 1;
        if right {
            tally.0 += 1;
        } else {
            *confusions.entry((kind(&case.expected, &got), kind(&got, &case.expected))).or_default() += 1;
            misses.push(format!(
                "  línea {}: «{}» — se esperaba {}, se entendió {}",
                case.line,
                case.message,
                label(&case.expected),
                label(&got)
            ));
        }
    }
    let right: usize = by_class.values().map(|t| t.0).sum();
    let accuracy = right as f64 / cases.len() as f64;
    println!("Exactitud: {right} de {} ({:.1} %)", cases.len(), accuracy * 100.0);
    println!("Por clase:");
    for (class, (ok, total)) in &by_class {
        println!("  {class:<14} {ok:>3} de {total:>3} ({:.1} %)", *ok as f64 * 100.0 / *total as f64);
    }
    let mut confusions: Vec<_> = confusions.into_iter().collect();
    confusions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    println!("Confusiones (se esperaba → se entendió):");
    for ((expected, got), n) in &confusions {
        println!("  {n:>3}  {expected} → {got}");
    }
    println!("Sin entender bien:");
    for miss in &misses {
        println!("{miss}");
    }
    assert!(wrong_subscriptions.is_empty(), "a subscription nobody asked for: {wrong_subscriptions:?}");
    assert!(
        accuracy >= MIN_ACCURACY,
        "exactitud {:.1} % por debajo del mínimo {:.1} %",
        accuracy * 100.0,
        MIN_ACCURACY * 100.0
    );
}
