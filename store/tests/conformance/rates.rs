//! [`RateStore`](store::RateStore): the governor grants at most its rate; buckets are shared,
//! charged and paused.

use std::time::{Duration, Instant};

use store::Rate;
use testkit::StoreKind;

pub(crate) async fn the_rate_governor_grants_at_most_its_rate(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let bucket = s.keys().rate("meta:106540352242922");
    let rate = Rate { per_second: 200, burst: 20 };
    // From before the first take: the store's clock may count from any moment of that call.
    let start = Instant::now();
    let first = s.take_permits(&bucket, rate, 50).await.unwrap();
    assert_eq!(first.granted, 20, "a fresh bucket grants one burst");
    assert!(first.next_in > Duration::ZERO && first.next_in <= Duration::from_millis(5), "{first:?}");
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
    let interval = Duration::from_millis(10);
    // Two takers on one bucket share it: together they get one burst and the rate over the
    // time between the first take and the last, which is at most the time the two ran.
    let bucket = s.keys().rate("shared");
    let taker = |s: store::SharedStore, bucket: schemas::Key| {
        tokio::spawn(async move {
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < Duration::from_millis(300) {
                let p = s.take_permits(&bucket, rate, 3).await.unwrap();
                n += u64::from(p.granted);
                tokio::time::sleep(p.next_in.max(Duration::from_millis(1))).await;
            }
            n
        })
    };
    let start = Instant::now();
    let (a, b) = (taker(s.clone(), bucket.clone()), taker(s.clone(), bucket.clone()));
    let total = a.await.unwrap() + b.await.unwrap();
    let took = start.elapsed();
    assert!(
        total <= 10 + freed_in(took, interval),
        "two takers got {total} permits in {took:?} at 100/s (a burst of 10 and one every 10 ms)"
    );

    // Inbound messages use the bucket up, and a flood holds permits back for one window, not
    // longer: it leaves no debt. The bucket frees a permit every 10 ms meanwhile, so each
    // check allows for the time its two calls took (the store's clock moved less than that).
    let charged = s.keys().rate("charged");
    let (granted, took) = timed(async {
        s.charge_permits(&charged, rate, 5, Duration::ZERO).await.unwrap();
        s.take_permits(&charged, rate, 10).await.unwrap().granted
    })
    .await;
    assert!(
        (5..=5 + freed_in(took, interval)).contains(&u64::from(granted)),
        "five of the burst of ten were used {took:?} before: {granted} granted"
    );
    let (held, took) = timed(async {
        s.charge_permits(&charged, rate, 10_000, Duration::ZERO).await.unwrap();
        s.take_permits(&charged, rate, 1).await.unwrap()
    })
    .await;
    assert!(held.granted == 0 || took >= interval, "a flood uses the bucket up: {held:?} {took:?} later");
    assert!(held.next_in <= interval + Duration::from_millis(1), "a flood is not a debt: {held:?}");
    let flooded = s.keys().rate("flooded");
    let (held, took) = timed(async {
        s.charge_permits(&flooded, rate, 10_000, Duration::from_millis(200)).await.unwrap();
        s.take_permits(&flooded, rate, 1).await.unwrap()
    })
    .await;
    // Held for the window less the burst that GCRA lets through at once (200 − 100 ms), and
    // the interval of the permit asked for, less the time passed since the charge.
    let hold = Duration::from_millis(110);
    assert!(held.granted == 0 || took >= hold, "held for the window of the flood: {held:?} {took:?} later");
    assert!(
        held.next_in <= hold + Duration::from_millis(1) && held.next_in + took + Duration::from_millis(1) >= hold,
        "held for the window of the flood: {held:?} {took:?} later"
    );
    // A few messages over a window of an idle bucket used room that was there.
    let idle = s.keys().rate("idle");
    s.charge_permits(&idle, rate, 5, Duration::from_millis(100)).await.unwrap();
    assert_eq!(s.take_permits(&idle, rate, 10).await.unwrap().granted, 10);

    // A pause holds every permit back for its length; inbound messages never shorten it.
    let paused = s.keys().rate("paused");
    let pause = Duration::from_millis(200);
    let (p, took) = timed(async {
        s.pause_permits(&paused, rate, pause).await.unwrap();
        s.charge_permits(&paused, rate, 3, Duration::ZERO).await.unwrap();
        s.take_permits(&paused, rate, 1).await.unwrap()
    })
    .await;
    assert!(p.granted == 0 || took >= pause, "paused: {p:?} {took:?} later");
    assert!(
        p.next_in <= pause + Duration::from_millis(1) && p.next_in + took + Duration::from_millis(1) >= pause,
        "held for the whole pause: {p:?} {took:?} later"
    );
    tokio::time::sleep(p.next_in).await;
    assert_eq!(s.take_permits(&paused, rate, 1).await.unwrap().granted, 1);
}

/// What the press-conference drill's floor counts on ([`Rate::inbound_hold`]): while replies
/// keep a bucket busy, inbound messages charged to it hold the next reply back for their
/// permits' time, and a flood for the window less the burst, no longer.
pub(crate) async fn a_charge_holds_busy_replies_back_as_long_as_inbound_hold_says(kind: StoreKind) {
    let f = kind.open().await;
    let s = &f.store;
    let rate = Rate { per_second: 100, burst: 10 };
    let (interval, window) = (Duration::from_millis(10), Duration::from_millis(250));
    assert_eq!(rate.inbound_hold(4, window), Duration::from_millis(40));
    assert_eq!(rate.inbound_hold(10_000, window), Duration::from_millis(150), "the window less the burst");
    for (name, used) in [("few", 4), ("flood", 10_000)] {
        let bucket = s.keys().rate(name);
        let (held, took) = timed(async {
            // Replies take the whole burst, then inbound messages are charged.
            assert_eq!(s.take_permits(&bucket, rate, 10).await.unwrap().granted, 10);
            s.charge_permits(&bucket, rate, used, window).await.unwrap();
            s.take_permits(&bucket, rate, 1).await.unwrap()
        })
        .await;
        // The next reply waits for the hold and its own permit, less the time passed.
        let wait = rate.inbound_hold(used, window) + interval;
        assert!(held.granted == 0 || took >= wait, "{name}: {held:?} {took:?} later");
        assert!(
            held.next_in <= wait + Duration::from_millis(1) && held.next_in + took + Duration::from_millis(1) >= wait,
            "{name}: {held:?} {took:?} later, expected a wait of {wait:?}"
        );
    }
}

/// What `steps` answered and how long they took: a bound on how far the store's clock moved
/// between the first step and the last.
async fn timed<T>(steps: impl Future<Output = T>) -> (T, Duration) {
    let start = Instant::now();
    let answer = steps.await;
    (answer, start.elapsed())
}

/// The permits a bucket frees in `took`, one every `interval`.
fn freed_in(took: Duration, interval: Duration) -> u64 {
    u64::try_from(took.as_micros() / interval.as_micros()).unwrap_or(u64::MAX)
}
