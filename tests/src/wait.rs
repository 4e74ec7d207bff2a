//! Waiting for state with a deadline: every wait in the suites polls an
//! observable (a history, an endpoint, a file, a process) through these,
//! and none sleeps in the hope that the state has arrived.

use std::fmt::Display;
use std::future::Future;
use std::time::{Duration, Instant};

/// How often a probe is repeated.
pub const POLL: Duration = Duration::from_millis(100);

/// Repeats `probe` every [`POLL`] until it returns `Ok`, for at most
/// `within` (at least once); at the deadline, the last state the probe
/// reported in its `Err`.
pub async fn poll_until<T, S, Fut>(within: Duration, mut probe: impl FnMut() -> Fut) -> Result<T, S>
where
    Fut: Future<Output = Result<T, S>>,
{
    let deadline = Instant::now() + within;
    loop {
        match probe().await {
            Ok(v) => return Ok(v),
            Err(state) if Instant::now() >= deadline => return Err(state),
            Err(_) => tokio::time::sleep(POLL).await,
        }
    }
}

/// [`poll_until`], panicking at the deadline with `what` and the last state.
pub async fn eventually<T, S, Fut>(within: Duration, what: &str, probe: impl FnMut() -> Fut) -> T
where
    S: Display,
    Fut: Future<Output = Result<T, S>>,
{
    poll_until(within, probe)
        .await
        .unwrap_or_else(|state| panic!("{what}: not within {within:?}; last seen: {state}"))
}

/// [`eventually`] for a synchronous probe, outside an async runtime.
pub fn eventually_blocking<T, S: Display>(
    within: Duration,
    what: &str,
    mut probe: impl FnMut() -> Result<T, S>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        match probe() {
            Ok(v) => return v,
            Err(state) if Instant::now() >= deadline => {
                panic!("{what}: not within {within:?}; last seen: {state}")
            }
            Err(_) => std::thread::sleep(POLL),
        }
    }
}

/// Checks `holds` every [`POLL`] until `until`, panicking with `what` the
/// first time it does not: an absence (a file never written, a guest that
/// stopped) can only be seen over a window.
pub async fn holds_until(until: Instant, what: &str, mut holds: impl FnMut() -> bool) {
    while Instant::now() < until {
        assert!(holds(), "{what}");
        tokio::time::sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn eventually_returns_once_the_probe_succeeds() {
        let mut n = 0;
        let got = eventually(Duration::from_secs(5), "three probes", || {
            n += 1;
            let seen = n;
            async move { if seen >= 3 { Ok(seen) } else { Err(seen) } }
        })
        .await;
        assert_eq!(got, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "never: not within")]
    async fn eventually_panics_with_the_last_state_at_the_deadline() {
        eventually(Duration::from_millis(250), "never", || async {
            Err::<(), _>("still no")
        })
        .await;
    }

    #[test]
    fn eventually_blocking_polls_a_synchronous_probe() {
        let mut n = 0;
        let got = eventually_blocking(Duration::from_secs(5), "two probes", || {
            n += 1;
            if n >= 2 { Ok(n) } else { Err(n) }
        });
        assert_eq!(got, 2);
    }
}
