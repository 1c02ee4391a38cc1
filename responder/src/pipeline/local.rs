//! Sessions kept in this process, for the embedded store.
//!
//! An embedded store serves one process (docs/architecture.md: Redis is what several processes share), so
//! the last menu shown to each citizen, which need not survive a restart, is kept here instead
//! of being committed to disk with every menu: a session lost to a restart only means that a
//! bare number is read against the main menu.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use schemas::{MenuId, UserKey};

/// Expired sessions are dropped once this many are kept (or twice as many as were live at the
/// last pruning), so pruning costs O(1) per session kept.
const PRUNE_AT: usize = 10_000;

/// The last menu shown to each citizen, in memory.
#[derive(Default)]
pub struct Sessions {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    menus: HashMap<UserKey, (MenuId, Instant)>,
    prune_at: usize,
}

impl Sessions {
    /// The menu shown last to `user`, if within its time to live.
    pub fn last_menu(&self, user: &UserKey) -> Option<MenuId> {
        let inner = self.inner.lock().expect("sessions lock");
        inner.menus.get(user).filter(|(_, until)| *until > Instant::now()).map(|(menu, _)| menu.clone())
    }

    pub fn remember(&self, user: UserKey, menu: MenuId, ttl: Duration) {
        let mut inner = self.inner.lock().expect("sessions lock");
        let now = Instant::now();
        if inner.menus.len() >= inner.prune_at.max(PRUNE_AT) {
            inner.menus.retain(|_, (_, until)| *until > now);
            inner.prune_at = 2 * inner.menus.len();
        }
        inner.menus.insert(user, (menu, now + ttl));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_are_dropped() {
        let sessions = Sessions::default();
        let (a, b): (UserKey, UserKey) =
            ("00112233445566778899aabbccddeeff".parse().unwrap(), "ffeeddccbbaa99887766554433221100".parse().unwrap());
        let menu: MenuId = "cifras".parse().unwrap();
        sessions.remember(a, menu.clone(), Duration::from_secs(60));
        sessions.remember(b, menu.clone(), Duration::ZERO);
        assert_eq!(sessions.last_menu(&a), Some(menu.clone()));
        assert_eq!(sessions.last_menu(&b), None, "an expired session is gone");
        for i in 0..PRUNE_AT as u128 {
            sessions.remember(format!("{i:032x}").parse().unwrap(), menu.clone(), Duration::ZERO);
        }
        let kept = sessions.inner.lock().unwrap().menus.len();
        assert!(kept < PRUNE_AT, "expired sessions are dropped: {kept}");
        assert_eq!(sessions.last_menu(&a), Some(menu));
    }
}
