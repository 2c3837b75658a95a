//! A map that holds at most a fixed number of entries, for caches of
//! values that are cheap to read again (eSIM records, rendered QR codes):
//! memory stays bounded however many distinct keys callers ask for.
//!
//! Eviction is first in, first out: when full, the entry inserted longest
//! ago goes. Replacing a key's value keeps its place. That is cruder than
//! least-recently-used, but needs no bookkeeping on reads, which are the
//! hot path here, and a re-read of an evicted entry costs one lookup of
//! the source it came from.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A bounded map with first-in-first-out eviction.
#[derive(Debug)]
pub struct BoundedMap<K, V> {
    capacity: usize,
    entries: HashMap<K, V>,
    /// Keys in insertion order, each once.
    order: VecDeque<K>,
}

impl<K: Hash + Eq + Clone, V> BoundedMap<K, V> {
    /// An empty map that will hold at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The value of `key`, if held.
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.entries.get(key)
    }

    /// Holds `value` under `key`, evicting the oldest entry when the map
    /// is full and `key` is new.
    pub fn insert(&mut self, key: K, value: V) {
        if let Some(held) = self.entries.get_mut(&key) {
            *held = value;
            return;
        }
        if self.entries.len() >= self.capacity
            && let Some(oldest) = self.order.pop_front()
        {
            self.entries.remove(&oldest);
        }
        self.order.push_back(key.clone());
        self.entries.insert(key, value);
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_at_most_its_capacity_and_evicts_the_oldest_first() {
        let mut map = BoundedMap::new(3);
        for n in 0..3 {
            map.insert(n, n * 10);
        }
        // Replacing a held key neither grows the map nor moves its place.
        map.insert(0, 1);
        assert_eq!(map.len(), 3);
        assert_eq!(map.get(&0), Some(&1));

        map.insert(3, 30);
        assert_eq!(map.len(), 3);
        assert_eq!(map.get(&0), None, "the first inserted goes first");
        assert_eq!(map.get(&1), Some(&10));
        map.insert(4, 40);
        assert_eq!(map.get(&1), None);
        assert_eq!(map.get(&4), Some(&40));
        assert_eq!(map.order.len(), 3, "each key is queued once");
    }

    #[test]
    fn a_zero_capacity_still_holds_the_latest_entry() {
        let mut map = BoundedMap::new(0);
        map.insert("a", 1);
        map.insert("b", 2);
        assert_eq!(map.len(), 1);
        assert_eq!(map.get("b"), Some(&2));
        assert!(!map.is_empty());
    }
}
