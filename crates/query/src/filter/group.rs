//! Many patterns over the same events — a log group's metric filters.
//!
//! Each member is a pattern plus the fields its matches read (a metric
//! value, dimensions). Evaluated one by one, every JSON member would scan a
//! JSON event again, and reading a matched event's fields would scan it once
//! more. Here the selectors of all JSON members and of the JSON fields any
//! member reads are merged (same text, one selector) and each event is
//! scanned once; every reached value is routed to the members listening to
//! that selector, which keep their own leaf states exactly as
//! [`JsonPattern::matches`](super::json::JsonPattern) would. Other members
//! (terms, regex, space-delimited) run as they do alone. A member whose
//! selectors would not fit the scanner's 128-selector set also runs alone.

use super::captures::{FieldRefs, FieldValue, field_value};
use super::json::LeafState;
use super::json_scan::{self, HitSink, JsonValue, MAX_SELECTORS};
use super::selector::Selector;
use super::{FilterPattern, Kind};

/// Patterns with the fields their matches read, evaluated together.
#[derive(Debug, Clone, Default)]
pub struct PatternGroup {
    members: Vec<Member>,
    /// The merged selectors of the shared scan.
    selectors: Vec<Selector>,
    /// Per merged selector, who receives its values.
    listeners: Vec<Vec<Listener>>,
}

#[derive(Debug, Clone)]
struct Member {
    pattern: FilterPattern,
    fields: FieldRefs,
    /// Evaluated by the shared scan (a JSON pattern that fitted).
    shared: bool,
}

#[derive(Debug, Clone, Copy)]
enum Listener {
    /// The `selector`th selector of a member's JSON pattern.
    Leaf { member: usize, selector: usize },
    /// The `slot`th field a member reads; a wildcard keeps its first value.
    Field { member: usize, slot: usize, first_only: bool },
}

/// Per-event working space, reused across the events of a batch.
#[derive(Debug, Default)]
pub struct GroupScratch<'m> {
    states: Vec<LeafState>,
    /// Per member, per field: (reached, value).
    found: Vec<Vec<(bool, Option<FieldValue<'m>>)>>,
    values: Vec<Option<FieldValue<'m>>>,
}

impl PatternGroup {
    pub fn new(members: Vec<(FilterPattern, FieldRefs)>) -> PatternGroup {
        let mut group = PatternGroup::default();
        for (member, (pattern, fields)) in members.into_iter().enumerate() {
            let shared = match &pattern.kind {
                Kind::Json(json) => group.share(member, json.selectors(), &fields),
                Kind::Terms(_) | Kind::Regex(_) | Kind::Delimited(_) => false,
            };
            group.members.push(Member { pattern, fields, shared });
        }
        group
    }

    /// Adds a JSON member's selectors to the shared scan, if they fit.
    fn share(&mut self, member: usize, pattern_selectors: &[Selector], fields: &FieldRefs) -> bool {
        let field_selectors = fields.fields.iter().enumerate().filter_map(|(slot, field)| Some((slot, field.json.as_ref()?)));
        let wanted: Vec<&Selector> = pattern_selectors.iter().chain(field_selectors.clone().map(|(_, selector)| selector)).collect();
        let new = wanted
            .iter()
            .filter(|selector| !self.selectors.iter().any(|known| known.text == selector.text))
            .map(|selector| &selector.text)
            .collect::<std::collections::HashSet<_>>()
            .len();
        if self.selectors.len() + new > MAX_SELECTORS {
            return false;
        }
        for (selector, wanted) in pattern_selectors.iter().enumerate() {
            let merged = self.merged(wanted);
            if let Some(listeners) = self.listeners.get_mut(merged) {
                listeners.push(Listener::Leaf { member, selector });
            }
        }
        for (slot, wanted) in field_selectors {
            let merged = self.merged(wanted);
            if let Some(listeners) = self.listeners.get_mut(merged) {
                listeners.push(Listener::Field { member, slot, first_only: wanted.has_wildcard() });
            }
        }
        true
    }

    fn merged(&mut self, selector: &Selector) -> usize {
        match self.selectors.iter().position(|known| known.text == selector.text) {
            Some(index) => index,
            None => {
                self.selectors.push(selector.clone());
                self.listeners.push(Vec::new());
                self.selectors.len() - 1
            }
        }
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Runs every member over `message`, in order: `each(index, Some(values))`
    /// when member `index` matches, with the values of its fields (`None`
    /// where missing), `each(index, None)` when it does not.
    pub fn evaluate<'m>(
        &'m self,
        message: &'m str,
        scratch: &mut GroupScratch<'m>,
        mut each: impl FnMut(usize, Option<&mut [Option<FieldValue<'m>>]>),
    ) {
        scratch.states.clear();
        scratch.states.resize(self.members.len(), LeafState::default());
        scratch.found.resize_with(self.members.len(), Vec::new);
        let json_valid = !self.selectors.is_empty() && {
            for (member, found) in self.members.iter().zip(scratch.found.iter_mut()) {
                found.clear();
                if member.shared {
                    found.resize(member.fields.len(), (false, None));
                }
            }
            let mut sink = GroupSink { group: self, states: &mut scratch.states, found: &mut scratch.found };
            json_scan::scan(message, &self.selectors, &mut sink)
        };
        for (index, member) in self.members.iter().enumerate() {
            if member.shared {
                let matched = json_valid
                    && match &member.pattern.kind {
                        Kind::Json(json) => scratch.states.get(index).is_some_and(|state| json.decide(state)),
                        Kind::Terms(_) | Kind::Regex(_) | Kind::Delimited(_) => false,
                    };
                if !matched {
                    each(index, None);
                    continue;
                }
                scratch.values.clear();
                let found = scratch.found.get_mut(index);
                let mut found = found.map(|found| found.iter_mut()).into_iter().flatten();
                // Slots line up with the fields; `$name` fields never exist in a JSON event.
                for field in &member.fields.fields {
                    let value = found.next().and_then(|(_, value)| value.take());
                    scratch.values.push(if field.json.is_some() { value } else { None });
                }
                each(index, Some(&mut scratch.values));
                continue;
            }
            match member.pattern.evaluate(message) {
                Some(captures) => {
                    captures.values_of(&member.fields, &mut scratch.values);
                    each(index, Some(&mut scratch.values));
                }
                None => each(index, None),
            }
        }
    }
}

struct GroupSink<'g, 's, 'm> {
    group: &'g PatternGroup,
    states: &'s mut [LeafState],
    found: &'s mut [Vec<(bool, Option<FieldValue<'m>>)>],
}

impl<'m> HitSink<'m> for GroupSink<'_, '_, 'm> {
    fn hit(&mut self, selector: usize, value: JsonValue<'m>) {
        let Some(listeners) = self.group.listeners.get(selector) else { return };
        for listener in listeners {
            match *listener {
                Listener::Leaf { member, selector } => {
                    if let (Some(Member { pattern, .. }), Some(state)) = (self.group.members.get(member), self.states.get_mut(member))
                        && let Kind::Json(json) = &pattern.kind
                    {
                        json.record(selector, value, state);
                    }
                }
                Listener::Field { member, slot, first_only } => {
                    if let Some(entry) = self.found.get_mut(member).and_then(|found| found.get_mut(slot))
                        && !(first_only && entry.0)
                    {
                        *entry = (true, field_value(value));
                    }
                }
            }
        }
    }
}
