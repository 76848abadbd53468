//! Duplicate detection (RFC 5080 2.2.2): a request seen again from the same client address and
//! port with the same Identifier and Request Authenticator gets the cached reply again, and is
//! dropped while the first copy is still being answered.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub src: SocketAddr,
    pub identifier: u8,
    pub authenticator: [u8; 16],
}

enum Entry {
    InProgress,
    Done(Vec<u8>),
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Seen {
    /// First time: handle it, then call [`ReplyCache::complete`] (or [`ReplyCache::forget`]).
    New,
    /// A retransmission of a request already answered: send this again.
    Answered(Vec<u8>),
    /// A retransmission of a request still being handled: drop it.
    InProgress,
}

struct Inner {
    map: HashMap<Key, (Instant, Entry)>,
    order: VecDeque<(Instant, Key)>,
}

/// A bounded reply cache; entries live for `window` and the oldest are evicted past `capacity`.
pub struct ReplyCache {
    shards: Vec<Mutex<Inner>>,
    window: Duration,
    capacity_per_shard: usize,
}

impl ReplyCache {
    pub fn new(window: Duration, capacity: usize) -> Self {
        let shards = 16;
        Self {
            shards: (0..shards)
                .map(|_| {
                    Mutex::new(Inner {
                        map: HashMap::new(),
                        order: VecDeque::new(),
                    })
                })
                .collect(),
            window,
            capacity_per_shard: (capacity / shards).max(16),
        }
    }

    fn shard(&self, key: &Key) -> &Mutex<Inner> {
        let i = usize::from(key.authenticator[0] ^ key.identifier) % self.shards.len();
        &self.shards[i]
    }

    /// Looks the request up and, when new, marks it in progress.
    pub fn check(&self, key: &Key, now: Instant) -> Seen {
        let Ok(mut inner) = self.shard(key).lock() else {
            return Seen::New;
        };
        self.expire(&mut inner, now);
        if let Some((_, e)) = inner.map.get(key) {
            return match e {
                Entry::InProgress => Seen::InProgress,
                Entry::Done(r) => Seen::Answered(r.clone()),
            };
        }
        inner.map.insert(key.clone(), (now, Entry::InProgress));
        inner.order.push_back((now, key.clone()));
        while inner.map.len() > self.capacity_per_shard {
            match inner.order.pop_front() {
                Some((_, k)) => {
                    inner.map.remove(&k);
                }
                None => break,
            }
        }
        Seen::New
    }

    /// Stores the reply sent for a request.
    pub fn complete(&self, key: &Key, reply: &[u8]) {
        if let Ok(mut inner) = self.shard(key).lock()
            && let Some((_, e)) = inner.map.get_mut(key)
        {
            *e = Entry::Done(reply.to_vec());
        }
    }

    /// Forgets a request that got no reply (dropped), so a retransmission is handled afresh.
    pub fn forget(&self, key: &Key) {
        if let Ok(mut inner) = self.shard(key).lock() {
            inner.map.remove(key);
        }
    }

    fn expire(&self, inner: &mut Inner, now: Instant) {
        while let Some((t, _)) = inner.order.front() {
            if now.duration_since(*t) < self.window {
                break;
            }
            if let Some((t0, k)) = inner.order.pop_front() {
                // Only remove if the map entry is the one this order slot recorded.
                if inner.map.get(&k).is_some_and(|(t, _)| *t == t0) {
                    inner.map.remove(&k);
                }
            }
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|s| s.lock().ok().map(|i| i.map.len()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u8) -> Key {
        Key {
            src: "127.0.0.1:5000".parse().unwrap(),
            identifier: id,
            authenticator: [id; 16],
        }
    }

    #[test]
    fn retransmission_gets_the_same_reply_until_the_window_ends() {
        let c = ReplyCache::new(Duration::from_secs(30), 1000);
        let t0 = Instant::now();
        assert_eq!(c.check(&key(1), t0), Seen::New);
        assert_eq!(c.check(&key(1), t0), Seen::InProgress);
        c.complete(&key(1), b"reply");
        assert_eq!(
            c.check(&key(1), t0 + Duration::from_secs(5)),
            Seen::Answered(b"reply".to_vec())
        );
        assert_eq!(c.check(&key(1), t0 + Duration::from_secs(31)), Seen::New);
    }

    #[test]
    fn other_port_or_authenticator_is_a_new_request() {
        let c = ReplyCache::new(Duration::from_secs(30), 1000);
        let t0 = Instant::now();
        assert_eq!(c.check(&key(1), t0), Seen::New);
        let mut k = key(1);
        k.src = "127.0.0.1:5001".parse().unwrap();
        assert_eq!(c.check(&k, t0), Seen::New);
        let mut k = key(1);
        k.authenticator[15] = 0;
        assert_eq!(c.check(&k, t0), Seen::New);
    }

    #[test]
    fn forgotten_request_is_new_again_and_capacity_is_bounded() {
        let c = ReplyCache::new(Duration::from_secs(30), 16 * 16);
        let t0 = Instant::now();
        assert_eq!(c.check(&key(1), t0), Seen::New);
        c.forget(&key(1));
        assert_eq!(c.check(&key(1), t0), Seen::New);
        for i in 0..10_000u32 {
            let b = i.to_be_bytes();
            let k = Key {
                src: "127.0.0.1:5000".parse().unwrap(),
                identifier: b[3],
                authenticator: [b[0], b[1], b[2], b[3], 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            };
            c.check(&k, t0);
        }
        assert!(c.len() <= 16 * 16, "{}", c.len());
    }
}
