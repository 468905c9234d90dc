//! A family of one label with a closed set of values ([`Labelled`]): every
//! value in force is made at 0 when the family is registered (so that
//! `rate()` sees the first event) and its metric kept, so that counting is
//! one atomic operation: no lock, no hashing, no allocation.

use std::marker::PhantomData;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::labels::Label;

/// The label set of a one-label family.
type One = [(&'static str, &'static str); 1];

/// A family of counters or gauges over the values of `L`.
pub struct Labelled<L: Label, M> {
    family: Family<One, M>,
    /// The metric of each value, by [`Label::index`]; `None` for a value
    /// marked later, made on first use.
    made: Box<[Option<M>]>,
    _label: PhantomData<L>,
}

impl<L, M> Labelled<L, M>
where
    L: Label,
    M: prometheus_client::metrics::TypedMetric
        + prometheus_client::encoding::EncodeMetric
        + Default
        + Clone
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    /// Registers the family as `name` and makes every value in force.
    pub fn register(registry: &mut Registry, name: &str, help: &str) -> Self {
        let family = Family::<One, M>::default();
        let made = L::ALL
            .iter()
            .map(|value| (!value.later()).then(|| family.get_or_create(&labels(*value)).clone()))
            .collect();
        registry.register(name, help, family.clone());
        Self {
            family,
            made,
            _label: PhantomData,
        }
    }

    /// Runs `f` on the metric of `value`.
    fn with(&self, value: L, f: impl FnOnce(&M)) {
        match &self.made[value.index()] {
            Some(metric) => f(metric),
            None => f(&self.family.get_or_create(&labels(value))),
        }
    }
}

fn labels<L: Label>(value: L) -> One {
    [(L::KEY, value.name())]
}

impl<L: Label> Labelled<L, Counter> {
    /// Counts one for `value`.
    pub fn inc(&self, value: L) {
        self.with(value, |c| {
            c.inc();
        });
    }

    /// The count of `value` (tests).
    #[cfg(test)]
    pub fn get(&self, value: L) -> u64 {
        let mut got = 0;
        self.with(value, |c| got = c.get());
        got
    }
}

impl<L: Label> Labelled<L, Gauge> {
    /// Adds one to `value`.
    pub fn inc(&self, value: L) {
        self.with(value, |g| {
            g.inc();
        });
    }

    /// Takes one from `value`.
    pub fn dec(&self, value: L) {
        self.with(value, |g| {
            g.dec();
        });
    }

    /// The gauge of `value` now (tests).
    #[cfg(test)]
    pub fn get(&self, value: L) -> i64 {
        let mut got = 0;
        self.with(value, |g| got = g.get());
        got
    }
}
