//! Flood windows and sessions kept in this process, for the embedded store.
//!
//! An embedded store serves one process (DESIGN.md: Redis is what several processes share), so
//! this state, which need not survive a restart, is kept here instead of being committed to
//! disk with every message: a flood window lasts a minute, and a session lost to a restart
//! only means a bare number is read against the main menu.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use schemas::{MenuId, UserKey};

/// Per-user state in memory.
#[derive(Default)]
pub struct LocalState {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// User → (minute, messages in it).
    flood: HashMap<UserKey, (i64, u64)>,
    sessions: HashMap<UserKey, (MenuId, Instant)>,
    /// The minute whose stale entries were last dropped.
    pruned: i64,
}

impl LocalState {
    /// Counts a message of `user` in `minute` and returns the count so far.
    pub fn count(&self, user: UserKey, minute: i64) -> u64 {
        let mut inner = self.inner.lock().expect("local state lock");
        inner.prune(minute);
        let window = inner.flood.entry(user).or_insert((minute, 0));
        if window.0 != minute {
            *window = (minute, 0);
        }
        window.1 += 1;
        window.1
    }

    /// The menu shown last to `user`, if within its time to live.
    pub fn last_menu(&self, user: &UserKey) -> Option<MenuId> {
        let inner = self.inner.lock().expect("local state lock");
        inner.sessions.get(user).filter(|(_, until)| *until > Instant::now()).map(|(menu, _)| menu.clone())
    }

    pub fn remember_menu(&self, user: UserKey, menu: MenuId, ttl: Duration) {
        let mut inner = self.inner.lock().expect("local state lock");
        inner.sessions.insert(user, (menu, Instant::now() + ttl));
    }
}

impl Inner {
    /// Once a minute, drops the windows of past minutes and the sessions that expired.
    fn prune(&mut self, minute: i64) {
        if minute == self.pruned {
            return;
        }
        self.pruned = minute;
        self.flood.retain(|_, (m, _)| *m == minute);
        let now = Instant::now();
        self.sessions.retain(|_, (_, until)| *until > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_restart_each_minute_and_sessions_expire() {
        let local = LocalState::default();
        let (a, b): (UserKey, UserKey) =
            ("00112233445566778899aabbccddeeff".parse().unwrap(), "ffeeddccbbaa99887766554433221100".parse().unwrap());
        assert_eq!((local.count(a, 10), local.count(a, 10), local.count(b, 10)), (1, 2, 1));
        assert_eq!(local.count(a, 11), 1, "a new minute, a new window");
        let menu: MenuId = "cifras".parse().unwrap();
        local.remember_menu(a, menu.clone(), Duration::from_secs(60));
        local.remember_menu(b, menu.clone(), Duration::ZERO);
        assert_eq!(local.last_menu(&a), Some(menu));
        assert_eq!(local.last_menu(&b), None, "an expired session is gone");
        local.count(a, 12);
        assert_eq!(local.inner.lock().unwrap().sessions.len(), 1, "expired sessions are dropped");
        assert_eq!(local.inner.lock().unwrap().flood.len(), 1, "past windows are dropped");
    }
}
