//! An in-memory map of per-client counters that forgets stale entries without scanning itself on
//! every request. It prunes when it reaches a threshold, and the next threshold is twice what the
//! prune kept (never below the first): the cost of each prune is paid for by the inserts since the
//! last one, so a table an attacker fills with live entries costs O(1) per request, not O(n).

use std::collections::HashMap;

pub struct PrunedMap<V> {
    entries: HashMap<String, V>,
    prune_at: usize,
    first_prune_at: usize,
    #[cfg(test)]
    pub prunes: usize,
}

impl<V> PrunedMap<V> {
    /// A map that first prunes at `prune_at` entries.
    pub fn new(prune_at: usize) -> Self {
        PrunedMap {
            entries: HashMap::new(),
            prune_at,
            first_prune_at: prune_at,
            #[cfg(test)]
            prunes: 0,
        }
    }

    /// Drops the entries `keep` refuses, when the map has reached its threshold.
    pub fn prune_if_full(&mut self, keep: impl FnMut(&String, &mut V) -> bool) {
        if self.entries.len() < self.prune_at {
            return;
        }
        self.entries.retain(keep);
        self.prune_at = self
            .first_prune_at
            .max(self.entries.len().saturating_mul(2));
        self.entries.shrink_to(self.prune_at);
        #[cfg(test)]
        {
            self.prunes += 1;
        }
    }

    pub fn entry(&mut self, key: String) -> std::collections::hash_map::Entry<'_, String, V> {
        self.entries.entry(key)
    }

    pub fn remove(&mut self, key: &str) -> Option<V> {
        self.entries.remove(key)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_full_of_live_entries_is_not_scanned_on_every_insert() {
        let mut map = PrunedMap::new(1000);
        for n in 0..10_000 {
            map.prune_if_full(|_, _| true);
            map.entry(format!("key-{n}")).or_insert(());
        }
        assert_eq!(map.len(), 10_000, "live entries are kept");
        // Thresholds 1000, 2000, 4000, 8000: four scans for ten thousand inserts.
        assert_eq!(map.prunes, 4);
    }

    #[test]
    fn stale_entries_are_dropped_and_the_threshold_comes_back_down() {
        let mut map = PrunedMap::new(100);
        // Thresholds 100, 200, 400, then 800, which this fills.
        for n in 0..800 {
            map.prune_if_full(|_, _| true);
            map.entry(format!("key-{n}")).or_insert(n);
        }
        // Everything has gone stale: the prune empties the map and the threshold is the first.
        map.prune_if_full(|_, _| false);
        assert!(map.is_empty());
        for n in 0..100 {
            map.prune_if_full(|_, v| *v % 2 == 0);
            map.entry(format!("again-{n}")).or_insert(n);
        }
        map.prune_if_full(|_, v| *v % 2 == 0);
        assert_eq!(map.len(), 50);
    }
}
