//! [`RateStore`](store::RateStore): the governor grants at most its rate; buckets are shared,
//! charged and paused.

use std::time::Duration;

use store::Rate;
use testkit::StoreKind;

pub(crate) async fn the_rate_governor_grants_at_most_its_rate(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let bucket = s.keys().rate("meta:106540352242922");
    let rate = Rate { per_second: 200, burst: 20 };
    let first = s.take_permits(&bucket, rate, 50).await.unwrap();
    assert_eq!(first.granted, 20, "a fresh bucket grants one burst");
    assert!(first.next_in > Duration::ZERO && first.next_in <= Duration::from_millis(5), "{first:?}");
    let start = std::time::Instant::now();
    let mut granted = u64::from(first.granted);
    while start.elapsed() < Duration::from_millis(500) {
        let p = s.take_permits(&bucket, rate, 7).await.unwrap();
        granted += u64::from(p.granted);
        if p.granted < 7 {
            assert!(p.next_in > Duration::ZERO);
            tokio::time::sleep(p.next_in).await;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let most = 20.0 + 200.0 * elapsed + 1.0;
    assert!((granted as f64) <= most, "{granted} permits in {elapsed:.3}s at 200/s");
    assert!((granted as f64) >= 200.0 * 0.5 * 0.8, "a taker that waits as told gets close to the rate: {granted}");
    let other = s.take_permits(&s.keys().rate("meta:999"), rate, 5).await.unwrap();
    assert_eq!(other.granted, 5, "buckets are independent");
}

pub(crate) async fn rate_buckets_are_shared_charged_and_paused(kind: StoreKind) {
    let f = kind.open().await;
    let s = f.store.clone();
    let rate = Rate { per_second: 100, burst: 10 };
    // Two takers on one bucket share it.
    let bucket = s.keys().rate("shared");
    let taker = |s: store::SharedStore, bucket: schemas::Key| {
        tokio::spawn(async move {
            let start = std::time::Instant::now();
            let mut n = 0u64;
            while start.elapsed() < Duration::from_millis(300) {
                let p = s.take_permits(&bucket, rate, 3).await.unwrap();
                n += u64::from(p.granted);
                tokio::time::sleep(p.next_in.max(Duration::from_millis(1))).await;
            }
            n
        })
    };
    let (a, b) = (taker(s.clone(), bucket.clone()), taker(s.clone(), bucket.clone()));
    let total = a.await.unwrap() + b.await.unwrap();
    assert!(total <= 10 + 100 * 350 / 1000 + 2, "two takers got {total} permits in 0.3 s at 100/s");

    // Inbound messages use the bucket up, and a flood holds permits back for one window, not
    // longer: it leaves no debt.
    let charged = s.keys().rate("charged");
    s.charge_permits(&charged, rate, 5, Duration::ZERO).await.unwrap();
    assert_eq!(s.take_permits(&charged, rate, 10).await.unwrap().granted, 5);
    s.charge_permits(&charged, rate, 10_000, Duration::ZERO).await.unwrap();
    let held = s.take_permits(&charged, rate, 1).await.unwrap();
    assert_eq!(held.granted, 0);
    assert!(held.next_in <= Duration::from_millis(11), "a flood is not a debt: {held:?}");
    let flooded = s.keys().rate("flooded");
    s.charge_permits(&flooded, rate, 10_000, Duration::from_millis(200)).await.unwrap();
    let held = s.take_permits(&flooded, rate, 1).await.unwrap();
    assert_eq!(held.granted, 0);
    // The window less the burst that GCRA lets through at once.
    let window = Duration::from_millis(100)..=Duration::from_millis(111);
    assert!(window.contains(&held.next_in), "held for the window of the flood: {held:?}");
    // A few messages over a window of an idle bucket used room that was there.
    let idle = s.keys().rate("idle");
    s.charge_permits(&idle, rate, 5, Duration::from_millis(100)).await.unwrap();
    assert_eq!(s.take_permits(&idle, rate, 10).await.unwrap().granted, 10);

    // A pause holds every permit back for its length; inbound messages never shorten it.
    let paused = s.keys().rate("paused");
    s.pause_permits(&paused, rate, Duration::from_millis(200)).await.unwrap();
    s.charge_permits(&paused, rate, 3, Duration::ZERO).await.unwrap();
    let p = s.take_permits(&paused, rate, 1).await.unwrap();
    assert_eq!(p.granted, 0);
    assert!(p.next_in > Duration::from_millis(150) && p.next_in <= Duration::from_millis(201), "{p:?}");
    tokio::time::sleep(p.next_in).await;
    assert_eq!(s.take_permits(&paused, rate, 1).await.unwrap().granted, 1);
}
