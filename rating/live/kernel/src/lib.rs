//! The live rating step's plain counter groups in native code (streams/live/fold.py, docs/performance.md).
//!
//! A `Counter` holds one step's template of a metric and terms (the bytes `streams/live/records.py` encodes
//! once) and the metric's rule as integers. `Counter.rate` does a group's whole work: the period-to-date
//! usage after the group's events, `delta_parts` (rating/quota.py), the rated line's and the quota-state
//! record's bytes. It returns `None` whenever it cannot give exactly what the Python path gives (a result
//! `Decimal` would round, a negative or non-finite quantity, text it does not read); the caller then rates
//! the group in Python.

mod decimal;

use decimal::{add, cmp, fixed, mul, normalized, parse, sub, Dec, ZERO};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString};
use std::cmp::Ordering;

/// The figures of `delta_parts` a rated line carries: (quantity, included, billable, unit price, amount).
type Parts = (Dec, Dec, Dec, Dec, Dec);
/// A rated group: (the entry's `used` text, rated line, quota-state record, whether alerts may be due).
type Rated<'py> = (Bound<'py, PyString>, Bound<'py, PyBytes>, Bound<'py, PyBytes>, bool);

#[pyclass(frozen, module = "meterline_kernel")]
struct Counter {
    line_head: Vec<u8>,
    line_tail: Vec<u8>,
    quota_head: Vec<u8>,
    /// From `","included":` to the quota's `"remaining":` (the rule's included quantity's JSON between).
    quota_included: Vec<u8>,
    /// From `,"hard_cap":` to `"over_limit":` (the rule's hard cap's JSON between).
    quota_cap: Vec<u8>,
    quota_tail: Vec<u8>,
    entitled: bool,
    included: Option<Dec>,
    cap: Option<Dec>,
    price: Dec,
    first_alert: Option<Dec>,
}

fn rule_value(text: Option<&str>) -> PyResult<Option<Dec>> {
    text.map(|t| parse(t).ok_or_else(|| PyValueError::new_err(format!("not a kernel quantity: {t:?}"))))
        .transpose()
}

#[pymethods]
impl Counter {
    /// The template parts are `Templates`' (line head, line tail, quota head, quota tail, the included
    /// quantity's and the hard cap's JSON); the rule's figures are `str(Decimal)` or None. Raises
    /// ValueError for a figure the kernel does not handle (the caller then uses the Python path).
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        line_head: &[u8],
        line_tail: &[u8],
        quota_head: &[u8],
        quota_tail: &[u8],
        included_json: &str,
        cap_json: &str,
        entitled: bool,
        included: Option<&str>,
        hard_cap: Option<&str>,
        unit_price: Option<&str>,
        first_alert: Option<&str>,
    ) -> PyResult<Self> {
        let price = rule_value(unit_price)?.unwrap_or(ZERO);
        Ok(Counter {
            line_head: line_head.to_vec(),
            line_tail: line_tail.to_vec(),
            quota_head: quota_head.to_vec(),
            quota_included: [
                b"\",\"included\":".as_slice(),
                included_json.as_bytes(),
                b",\"remaining\":",
            ]
            .concat(),
            quota_cap: [b",\"hard_cap\":".as_slice(), cap_json.as_bytes(), b",\"over_limit\":"].concat(),
            quota_tail: quota_tail.to_vec(),
            entitled,
            included: rule_value(included)?,
            cap: rule_value(hard_cap)?,
            // `rule.unit_price or ZERO`: a zero price of any exponent is falsy, so it is written "0"
            price: if price.c == 0 { ZERO } else { price },
            first_alert: rule_value(first_alert)?,
        })
    }

    /// A group's (entry's `used` text, rated line, quota-state record, whether alerts may be due), or None
    /// to decline. `used`: the slot's `used` (None when the slot is new); `events`: the group's events,
    /// each with a `Decimal` `quantity`.
    fn rate<'py>(
        &self,
        py: Python<'py>,
        account: &[u8],
        used: Option<&Bound<'py, PyAny>>,
        events: &Bound<'py, PyList>,
    ) -> PyResult<Option<Rated<'py>>> {
        let before = match used {
            None => ZERO,
            Some(u) => match u.cast::<PyString>() {
                Ok(s) => match parse(s.to_str()?) {
                    Some(d) => d,
                    None => return Ok(None),
                },
                Err(_) => return Ok(None),
            },
        };
        // `before + sum([e.quantity for e in evs], ZERO)`: the same additions in the same order
        let quantity = pyo3::intern!(py, "quantity");
        let mut total = ZERO;
        for ev in events.iter() {
            let text = ev.getattr(quantity)?.str()?;
            let Some(q) = parse(text.to_str()?) else {
                return Ok(None);
            };
            let Some(t) = add(total, q) else { return Ok(None) };
            total = t;
        }
        let Some(after) = add(before, total) else {
            return Ok(None);
        };
        let Some(parts) = self.delta_parts(before, after) else {
            return Ok(None);
        };
        let Some((line, used_at)) = self.line(account, parts, after) else {
            return Ok(None);
        };
        let Some(quota) = self.quota(account, after) else {
            return Ok(None);
        };
        let alerts = self.first_alert.is_some_and(|f| cmp(after, f) != Ordering::Less);
        let used_text = PyString::new(
            py,
            std::str::from_utf8(&line[used_at.0..used_at.1]).expect("ASCII digits"),
        );
        Ok(Some((
            used_text,
            PyBytes::new(py, &line),
            PyBytes::new(py, &quota),
            alerts,
        )))
    }
}

impl Counter {
    /// rating/quota.py's `delta_parts` for a rule without per-feature prices.
    fn delta_parts(&self, before: Dec, after: Dec) -> Option<Parts> {
        let quantity = sub(after, before)?;
        if !self.entitled {
            return Some((quantity, ZERO, ZERO, ZERO, ZERO));
        }
        let priced = self.price.c != 0;
        let charge = |q: Dec| -> Option<(Dec, Dec, Dec)> {
            // min(q, cap) and min(usable, included), keeping min's choice on ties (the first operand)
            let usable = match self.cap {
                Some(cap) if cmp(cap, q) == Ordering::Less => cap,
                _ => q,
            };
            let included = match self.included {
                Some(inc) if cmp(inc, usable) == Ordering::Less => inc,
                _ => usable,
            };
            let billable = if priced { sub(usable, included)? } else { ZERO };
            Some((included, billable, mul(billable, self.price)?))
        };
        let (inc_a, bill_a, amt_a) = charge(before)?;
        let (inc_b, bill_b, amt_b) = charge(after)?;
        Some((
            quantity,
            sub(inc_b, inc_a)?,
            sub(bill_b, bill_a)?,
            self.price,
            sub(amt_b, amt_a)?,
        ))
    }

    /// `Templates.rated_line` without extra fields, and where the period-to-date text lies in it.
    fn line(&self, account: &[u8], parts: Parts, after: Dec) -> Option<(Vec<u8>, (usize, usize))> {
        let (quantity, included, billable, price, amount) = parts;
        let mut out = Vec::with_capacity(account.len() + self.line_head.len() + self.line_tail.len() + 160);
        out.extend_from_slice(account);
        out.extend_from_slice(&self.line_head);
        fixed(quantity, &mut out);
        out.extend_from_slice(b"\",\"period_to_date\":\"");
        let start = out.len();
        fixed(after, &mut out);
        let end = out.len();
        out.extend_from_slice(b"\",\"included\":\"");
        fixed(included, &mut out);
        out.extend_from_slice(b"\",\"billable\":\"");
        fixed(billable, &mut out);
        out.extend_from_slice(b"\",\"unit_price\":\"");
        fixed(price, &mut out);
        out.extend_from_slice(b"\",\"amount\":\"");
        fixed(amount, &mut out);
        out.extend_from_slice(&self.line_tail);
        Some((out, (start, end)))
    }

    /// `Templates.quota_record`: rating/quota.py's `_limits` at `used`, texts normalized (`_text`).
    fn quota(&self, account: &[u8], used: Dec) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(account.len() + self.quota_head.len() + self.quota_tail.len() + 120);
        out.extend_from_slice(account);
        out.extend_from_slice(&self.quota_head);
        normalized(used, &mut out);
        out.extend_from_slice(&self.quota_included);
        match self.included {
            None => out.extend_from_slice(b"null"),
            Some(inc) => {
                out.push(b'"');
                // max(ZERO, included - used): "0" once used reaches the included quantity
                if cmp(inc, used) == Ordering::Greater {
                    normalized(sub(inc, used)?, &mut out);
                } else {
                    out.push(b'0');
                }
                out.push(b'"');
            }
        }
        out.extend_from_slice(&self.quota_cap);
        let over = self.included.is_some_and(|inc| cmp(used, inc) == Ordering::Greater);
        out.extend_from_slice(if over { b"true" } else { b"false" });
        out.extend_from_slice(b",\"hard_capped\":");
        let capped = self.cap.is_some_and(|cap| cmp(used, cap) != Ordering::Less);
        out.extend_from_slice(if capped { b"true" } else { b"false" });
        out.push(b',');
        out.extend_from_slice(&self.quota_tail);
        Some(out)
    }
}

#[pymodule]
fn meterline_kernel(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Counter>()?;
    Ok(())
}
