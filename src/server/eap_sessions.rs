//! The table of EAP conversations in flight (issue 3): each multi-round EAP method (EAP-TLS,
//! PEAP, TTLS) lives here between an Access-Challenge and the NAS's next Access-Request, keyed by
//! the State attribute the server sent. Conversations expire (FreeRADIUS: 60 s), and the table is
//! capped, per NAS and in all, so a flood of half-open conversations cannot exhaust memory: when
//! full, a new conversation is refused (the caller answers Access-Reject), never an old one evicted
//! that a real supplicant is still finishing. Time is passed in.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The State value the server puts in an Access-Challenge: 16 random octets.
pub type StateKey = [u8; 16];

/// Why a conversation could not be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The table holds its maximum of conversations.
    Full,
    /// This NAS holds its share of the table.
    NasFull,
}

impl Refused {
    pub fn reason_code(self) -> &'static str {
        match self {
            Refused::Full => "eap-sessions-full",
            Refused::NasFull => "eap-sessions-full-for-nas",
        }
    }
}

struct Entry<T> {
    expires: Instant,
    nas: String,
    conversation: T,
}

struct Inner<T> {
    map: HashMap<StateKey, Entry<T>>,
    /// Insertion order with expiry, for purging; stale slots (taken entries) are skipped.
    order: VecDeque<(Instant, StateKey)>,
    per_nas: HashMap<String, usize>,
}

/// Conversations in flight, keyed by State.
pub struct EapSessions<T> {
    inner: Mutex<Inner<T>>,
    lifetime: Duration,
    capacity: usize,
    per_nas_capacity: usize,
}

impl<T> EapSessions<T> {
    /// `capacity` conversations in all, at most `per_nas_capacity` for one NAS, each living
    /// `lifetime` after its last round.
    pub fn new(lifetime: Duration, capacity: usize, per_nas_capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                map: HashMap::new(),
                order: VecDeque::new(),
                per_nas: HashMap::new(),
            }),
            lifetime,
            capacity,
            per_nas_capacity: per_nas_capacity.min(capacity),
        }
    }

    /// Stores a conversation under `state` until `now + lifetime`.
    pub fn insert(
        &self,
        state: StateKey,
        nas: &str,
        conversation: T,
        now: Instant,
    ) -> Result<(), Refused> {
        let Ok(mut inner) = self.inner.lock() else {
            return Err(Refused::Full);
        };
        Self::purge(&mut inner, now);
        if inner.map.len() >= self.capacity {
            return Err(Refused::Full);
        }
        if inner.per_nas.get(nas).copied().unwrap_or(0) >= self.per_nas_capacity {
            return Err(Refused::NasFull);
        }
        let expires = now + self.lifetime;
        if let Some(old) = inner.map.insert(
            state,
            Entry {
                expires,
                nas: nas.to_string(),
                conversation,
            },
        ) {
            // A State collision (16 random octets) replaces; keep the per-NAS count right.
            Self::release(&mut inner, &old.nas);
        }
        *inner.per_nas.entry(nas.to_string()).or_insert(0) += 1;
        inner.order.push_back((expires, state));
        Ok(())
    }

    /// Takes the conversation a request's State names, if it exists, has not expired and
    /// belongs to the same NAS. The caller stores it again under a new State for the next round.
    pub fn take(&self, state: &StateKey, nas: &str, now: Instant) -> Option<T> {
        let mut inner = self.inner.lock().ok()?;
        Self::purge(&mut inner, now);
        match inner.map.get(state) {
            Some(e) if e.nas == nas && e.expires > now => {}
            _ => return None,
        }
        let e = inner.map.remove(state)?;
        Self::release(&mut inner, &e.nas);
        Some(e.conversation)
    }

    /// Conversations in flight now.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.map.len()).unwrap_or(0)
    }

    fn release(inner: &mut Inner<T>, nas: &str) {
        if let Some(n) = inner.per_nas.get_mut(nas) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                inner.per_nas.remove(nas);
            }
        }
    }

    fn purge(inner: &mut Inner<T>, now: Instant) {
        while let Some((expires, key)) = inner.order.front().copied() {
            if expires > now {
                break;
            }
            inner.order.pop_front();
            let stale = inner.map.get(&key).is_some_and(|e| e.expires <= now);
            if stale && let Some(e) = inner.map.remove(&key) {
                Self::release(inner, &e.nas);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> StateKey {
        let mut k = [0u8; 16];
        k[..4].copy_from_slice(&n.to_be_bytes());
        k
    }

    #[test]
    fn a_conversation_is_taken_once_by_its_nas_before_it_expires() {
        let t = EapSessions::new(Duration::from_secs(60), 100, 100);
        let t0 = Instant::now();
        t.insert(key(1), "sw1", "tls-1", t0).unwrap();
        assert_eq!(t.take(&key(1), "sw2", t0), None, "another NAS");
        assert_eq!(t.take(&key(1), "sw1", t0), Some("tls-1"));
        assert_eq!(t.take(&key(1), "sw1", t0), None, "taken already");
        t.insert(key(2), "sw1", "tls-2", t0).unwrap();
        assert_eq!(
            t.take(&key(2), "sw1", t0 + Duration::from_secs(61)),
            None,
            "expired"
        );
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn a_flood_of_half_open_conversations_is_bounded() {
        let t = EapSessions::new(Duration::from_secs(60), 1000, 300);
        let t0 = Instant::now();
        let mut refused_nas = 0;
        for i in 0..10_000u32 {
            match t.insert(key(i), "flooding-switch", i, t0) {
                Ok(()) => {}
                Err(Refused::NasFull) => refused_nas += 1,
                Err(Refused::Full) => panic!("the per-NAS cap comes first"),
            }
        }
        assert_eq!(t.len(), 300);
        assert_eq!(refused_nas, 10_000 - 300);
        // Other NASes still get their conversations.
        for i in 0..700u32 {
            t.insert(key(100_000 + i), &format!("sw{}", i % 3), i, t0)
                .unwrap();
        }
        assert_eq!(t.insert(key(200_000), "sw9", 0, t0), Err(Refused::Full));
        // After the lifetime everything is purged and the table takes new ones.
        let later = t0 + Duration::from_secs(61);
        t.insert(key(300_000), "flooding-switch", 1, later).unwrap();
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn taken_entries_free_their_nas_share() {
        let t = EapSessions::new(Duration::from_secs(60), 10, 2);
        let t0 = Instant::now();
        t.insert(key(1), "sw1", (), t0).unwrap();
        t.insert(key(2), "sw1", (), t0).unwrap();
        assert_eq!(t.insert(key(3), "sw1", (), t0), Err(Refused::NasFull));
        assert!(t.take(&key(1), "sw1", t0).is_some());
        t.insert(key(3), "sw1", (), t0).unwrap();
    }
}
