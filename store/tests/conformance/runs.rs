//! [`RunLog`](store::RunLog): runs listed newest first and filtered.

use jiff::Timestamp;
use jiff::civil::date;
use schemas::{IngestRun, RunFilter, RunResult};
use testkit::StoreKind;

pub(crate) async fn runs_are_listed_newest_first_and_filtered(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let run = |source: &str, result| IngestRun {
        id: 0,
        source: source.parse().unwrap(),
        started_at: Timestamp::now(),
        finished_at: Timestamp::now(),
        bytes: 10,
        rows: 2,
        result,
        error: None,
        data_date: Some(date(2020, 5, 27)),
        version: None,
        source_drift: false,
        forced: false,
        forced_by: None,
        warnings: vec![],
    };
    let a = s.record_run(&run("covid", RunResult::Published)).await.unwrap();
    let b = s.record_run(&run("semaforo", RunResult::Failed)).await.unwrap();
    let c = s.record_run(&run("covid", RunResult::Unchanged)).await.unwrap();
    assert!(a < b && b < c);
    let all = s.runs(&RunFilter::default()).await.unwrap();
    assert_eq!(all.iter().map(|r| r.id).collect::<Vec<_>>(), vec![c, b, a]);
    let covid = s.runs(&RunFilter { source: Some("covid".parse().unwrap()), ..Default::default() }).await.unwrap();
    assert_eq!(covid.iter().map(|r| r.id).collect::<Vec<_>>(), vec![c, a]);
    let failed = s.runs(&RunFilter { result: Some(RunResult::Failed), ..Default::default() }).await.unwrap();
    assert_eq!(failed.iter().map(|r| r.id).collect::<Vec<_>>(), vec![b]);
    let one = s.runs(&RunFilter { limit: 1, ..Default::default() }).await.unwrap();
    assert_eq!(one.len(), 1);
}
