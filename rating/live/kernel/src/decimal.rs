//! Non-negative decimals as (coefficient, exponent) integers, with the results Python's `Decimal` gives in
//! its default context (28 significant digits, half-even) whenever that result is exact. Anything else —
//! a result Python would round, a sign, NaN or infinity, an exponent out of range — is `None`: the caller
//! declines the group and the pure-Python path rates it.

use std::cmp::Ordering;

/// The default context's precision: a coefficient must stay below 10^28 for a sum, difference or
/// product to be exact.
const LIMIT: u128 = 10u128.pow(28);
/// Exponents beyond this are declined (Python's own limit is ±999,999; no quantity comes near).
const MAX_EXP: i64 = 100_000;

/// A non-negative decimal `c × 10^e`; zero keeps its exponent (`0.00` is `Dec { c: 0, e: -2 }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dec {
    pub c: u128,
    pub e: i32,
}

pub const ZERO: Dec = Dec { c: 0, e: 0 };

/// `Decimal(text)` for the texts `str(Decimal)` and `f"{d:f}"` write ("12.50", "1E+3", "0E-7"), when
/// non-negative and of at most 28 significant digits; anything else (a sign, spaces, underscores, NaN,
/// infinity, more digits) is `None`.
pub fn parse(text: &str) -> Option<Dec> {
    let b = text.as_bytes();
    let (mut i, mut c, mut digits, mut frac) = (0usize, 0u128, 0u32, 0i64);
    let (mut seen, mut point) = (false, false);
    while i < b.len() {
        match b[i] {
            d @ b'0'..=b'9' => {
                seen = true;
                if c != 0 || d != b'0' {
                    digits += 1;
                    if digits > 28 {
                        return None;
                    }
                    c = c * 10 + u128::from(d - b'0');
                }
                if point {
                    frac += 1;
                }
            }
            b'.' if !point => point = true,
            _ => break,
        }
        i += 1;
    }
    if !seen {
        return None;
    }
    let mut exp = 0i64;
    if i < b.len() {
        if b[i] != b'E' && b[i] != b'e' {
            return None;
        }
        i += 1;
        let negative = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        if i == b.len() {
            return None;
        }
        for &d in &b[i..] {
            if !d.is_ascii_digit() {
                return None;
            }
            exp = exp * 10 + i64::from(d - b'0');
            if exp > MAX_EXP {
                return None;
            }
        }
        if negative {
            exp = -exp;
        }
    }
    let e = exp - frac;
    if !(-MAX_EXP..=MAX_EXP).contains(&e) {
        return None;
    }
    Some(Dec { c, e: e as i32 })
}

fn shifted(c: u128, by: i32) -> Option<u128> {
    if c == 0 {
        return Some(0);
    }
    c.checked_mul(*POW10.get(usize::try_from(by).ok()?)?)
}

/// Both coefficients at the smaller exponent (the exponent of an exact sum or difference).
fn align(a: Dec, b: Dec) -> Option<(u128, u128, i32)> {
    let e = a.e.min(b.e);
    Some((shifted(a.c, a.e - e)?, shifted(b.c, b.e - e)?, e))
}

/// `a + b`, when Python's result is exact.
pub fn add(a: Dec, b: Dec) -> Option<Dec> {
    let (x, y, e) = align(a, b)?;
    let c = x.checked_add(y)?;
    (c < LIMIT).then_some(Dec { c, e })
}

/// `a - b` for `a >= b`, when Python's result is exact (a negative result is declined).
pub fn sub(a: Dec, b: Dec) -> Option<Dec> {
    let (x, y, e) = align(a, b)?;
    let c = x.checked_sub(y)?;
    (c < LIMIT).then_some(Dec { c, e })
}

/// `a * b`, when Python's result is exact.
pub fn mul(a: Dec, b: Dec) -> Option<Dec> {
    let c = a.c.checked_mul(b.c)?;
    let e = i64::from(a.e) + i64::from(b.e);
    (c < LIMIT && (-MAX_EXP..=MAX_EXP).contains(&e)).then_some(Dec { c, e: e as i32 })
}

/// 10^0 … 10^38: every power of ten a u128 holds.
const POW10: [u128; 39] = {
    let mut t = [1u128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// How many digits `c` has (1 for zero), without dividing: a u128 division is a library call.
fn digits(c: u128) -> i64 {
    POW10[1..].partition_point(|&p| p <= c) as i64 + 1
}

/// `c`'s decimal digits into the end of `buf`; returns where they start. In u64 when it fits, where a
/// division by ten is a multiplication.
fn write_digits(c: u128, buf: &mut [u8; 40]) -> usize {
    let mut i = buf.len();
    if let Ok(mut small) = u64::try_from(c) {
        loop {
            i -= 1;
            buf[i] = b'0' + (small % 10) as u8;
            small /= 10;
            if small == 0 {
                return i;
            }
        }
    }
    let mut c = c;
    loop {
        i -= 1;
        buf[i] = b'0' + (c % 10) as u8;
        c /= 10;
        if c == 0 {
            return i;
        }
    }
}

/// The values' order (`1.0` equals `1`).
pub fn cmp(a: Dec, b: Dec) -> Ordering {
    match (a.c == 0, b.c == 0) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    if a.e == b.e {
        return a.c.cmp(&b.c);
    }
    let by_size = (digits(a.c) + i64::from(a.e)).cmp(&(digits(b.c) + i64::from(b.e)));
    if by_size != Ordering::Equal {
        return by_size;
    }
    // The same leading position: aligned, neither has more digits than the longer one (≤ 28), so this fits.
    let (x, y, _) = align(a, b).expect("coefficients of equal magnitude align within u128");
    x.cmp(&y)
}

/// `f"{d:f}"`: every digit the value carries, in fixed point ("0.00", "1000" for 1E+3, "0" for 0E+2).
pub fn fixed(d: Dec, out: &mut Vec<u8>) {
    let mut buf = [0u8; 40];
    let start = write_digits(d.c, &mut buf);
    let ds = &buf[start..];
    if d.e >= 0 {
        out.extend_from_slice(ds);
        if d.c != 0 {
            out.resize(out.len() + d.e as usize, b'0');
        }
        return;
    }
    let places = (-i64::from(d.e)) as usize;
    if ds.len() > places {
        let (int, frac) = ds.split_at(ds.len() - places);
        out.extend_from_slice(int);
        out.push(b'.');
        out.extend_from_slice(frac);
    } else {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + places - ds.len(), b'0');
        out.extend_from_slice(ds);
    }
}

/// `fixed_text(d.normalize())` (rating/quota.py's `_text`): trailing zeros dropped, any zero is "0".
pub fn normalized(d: Dec, out: &mut Vec<u8>) {
    if d.c == 0 {
        out.push(b'0');
        return;
    }
    // The trailing zeros of its digits (no u128 division per zero).
    let mut buf = [0u8; 40];
    let start = write_digits(d.c, &mut buf);
    let zeros = buf[start..].iter().rev().take_while(|&&b| b == b'0').count();
    fixed(
        Dec {
            c: d.c / POW10[zeros],
            e: d.e + zeros as i32,
        },
        out,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(d: Dec) -> String {
        let mut v = Vec::new();
        fixed(d, &mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn parses_and_writes_what_python_does() {
        for (s, f) in [
            ("0E+2", "0"),
            ("1E+3", "1000"),
            ("0E-3", "0.000"),
            ("1.5E-7", "0.00000015"),
            ("12.5E+1", "125"),
        ] {
            assert_eq!(text(parse(s).unwrap()), f, "{s}");
        }
        assert_eq!(parse("-1"), None);
        assert_eq!(parse("NaN"), None);
        assert_eq!(parse("1".repeat(29).as_str()), None);
    }

    #[test]
    fn counts_digits_and_drops_trailing_zeros() {
        for (c, n) in [
            (0u128, 1),
            (9, 1),
            (10, 2),
            (99, 2),
            (10u128.pow(27), 28),
            (u128::MAX, 39),
        ] {
            assert_eq!(digits(c), n, "{c}");
        }
        let mut v = Vec::new();
        normalized(parse("1500.00").unwrap(), &mut v);
        normalized(parse("0.000").unwrap(), &mut v);
        normalized(parse("123456789012345678901234567.8").unwrap(), &mut v);
        assert_eq!(v, b"15000123456789012345678901234567.8");
    }

    #[test]
    fn sums_keep_the_smallest_exponent_and_decline_rounding() {
        assert_eq!(text(add(parse("5.0").unwrap(), parse("5").unwrap()).unwrap()), "10.0");
        assert_eq!(add(parse(&"9".repeat(28)).unwrap(), parse("1").unwrap()), None);
        assert_eq!(text(sub(parse("5.0").unwrap(), parse("5").unwrap()).unwrap()), "0.0");
    }
}
