//! One conformance suite, run against both stores and the Redis store on a Redis Cluster. The
//! Redis runs talk to the real `redis-server` and three-node cluster whose URLs `scripts/test`
//! puts in `CONTACTO_TEST_REDIS_URL` and `CONTACTO_TEST_REDIS_CLUSTER_URL`; every test uses a
//! key prefix of its own, so tests run in parallel on one server.
//!
//! One module per store trait holds its cases; this file lists them once, so each runs on the
//! embedded store, on Redis and on the Cluster (`on_embedded`, `on_redis`, `on_redis_cluster`),
//! and the whole suite runs again on Redis under the Cluster slot watch
//! (`every_atomic_step_stays_in_one_cluster_slot`). `embedded` holds what only the embedded
//! store must do.

mod counters;
mod deployment_state;
mod embedded;
mod kv;
mod lines;
mod once;
mod queues;
mod rates;
mod runs;
mod snapshots;
mod subscribers;
mod unmatched;

use std::collections::BTreeSet;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::date;
use schemas::{Answer, AnswerKey, Provenance, Scope, SnapshotContent, Topic};

use counters::*;
use deployment_state::*;
use kv::*;
use lines::*;
use once::*;
use queues::*;
use rates::*;
use runs::*;
use snapshots::*;
use subscribers::*;
use unmatched::*;

testkit::on_both_stores!(
    on_cluster;
    watch_slots;
    // snapshots
    snapshots_publish_read_and_roll_back,
    a_stale_publisher_gets_a_conflict_and_writes_nothing,
    only_the_newest_versions_are_kept_and_never_the_current_one,
    a_reader_never_sees_a_partly_written_snapshot,
    new_versions_are_announced,
    // deployment_state
    a_store_holds_one_states_data,
    a_store_with_answers_from_before_the_claim_holds_guanajuatos,
    // kv
    keys_expire_after_their_ttl,
    a_kv_batch_answers_each_operation_in_place,
    // queues
    two_concurrent_claimers_never_get_the_same_entry,
    entries_of_a_dead_consumer_are_reclaimed,
    delayed_entries_wait_for_their_time,
    entries_and_their_marks_are_written_together,
    // once
    work_offered_again_is_enqueued_once,
    a_lease_holds_work_until_it_is_done_or_released,
    once_marks_expire_after_their_ttl,
    a_window_adds_its_limit_and_only_marks_the_rest,
    concurrent_offers_of_the_same_work_enqueue_it_once,
    // lines
    a_line_hands_out_one_entry_at_a_time_in_the_order_added,
    concurrent_workers_take_each_line_in_order_one_at_a_time,
    a_dead_holder_delays_its_line_at_most_until_its_reclaim_or_its_lease,
    // counters
    interactions_and_unique_users_are_counted_per_day,
    failed_replies_are_counted_per_day_and_reason,
    // unmatched
    phrases_not_understood_count_distinct_citizens_expire_and_stay_bounded,
    // subscribers
    consent_changes_are_applied_once_and_all_ledgered,
    consent_changes_are_counted_per_quarter_hour,
    // runs
    runs_are_listed_newest_first_and_filtered,
    // rates
    the_rate_governor_grants_at_most_its_rate,
    rate_buckets_are_shared_charged_and_paused,
    a_charge_holds_busy_replies_back_as_long_as_inbound_hold_says,
);

/// `n` answers whose every body carries `marker`, so a reader can tell versions apart.
fn content(marker: u64, n: usize) -> SnapshotContent {
    let mut c = SnapshotContent::default();
    let topics = [
        "menu",
        "confirmados",
        "sospechosos",
        "descartados",
        "defunciones",
        "recuperados",
        "transmision_comunitaria",
        "hospitales",
        "sintomas",
        "semaforo",
        "programas",
        "vacunas",
        "conectate_alta",
        "conectate_ya_suscrito",
        "conectate_baja",
        "conectate_no_suscrito",
        "ayuda",
    ]
    .map(Topic::from_static);
    let keys = topics.into_iter().flat_map(|t| Scope::all().map(move |s| AnswerKey::new(t, s)));
    c.replace_source(
        Provenance {
            source: "covid".parse().unwrap(),
            url: "file:///fixtures/covid.zip".into(),
            fetched_at: Timestamp::now(),
            data_date: date(2020, 5, 27),
            checksum: format!("{marker:064x}"),
            rows: n as u64,
        },
        keys.take(n).map(|k| (k, Answer::text(format!("Casos: {marker} ({k})")).unwrap())),
    );
    c
}

fn marker_of(snapshot: &schemas::Snapshot) -> BTreeSet<String> {
    snapshot.content.answers.values().map(|a| a.answer.body().split(' ').nth(1).unwrap().to_owned()).collect()
}

const HOUR: Duration = Duration::from_secs(3600);
