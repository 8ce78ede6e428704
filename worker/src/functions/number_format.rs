//! `to_char(number, template)` as PostgreSQL writes a number by a template:
//! digit positions (`9` blank-padded, `0` zero-padded), the decimal point
//! (`.`, `D`), group separators (`,`, `G`), signs (`S`, `MI`, `PL`, `SG`,
//! `PR`), fill mode (`FM`), the currency symbol (`L`, blank in the C
//! locale), shifted digits (`V`), ordinal suffixes (`TH`, `th`), scientific
//! notation (`EEEE`) and Roman numerals (`RN`). A number wider than the
//! template's digits is all `#`. The writing follows PostgreSQL's
//! `NUM_processor`, whose placement of blanks, zeros and signs clients see.

/// A template item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Nine,
    Zero,
    Point,
    Group,
    Sign,
    Minus,
    Plus,
    SignedGroup,
    Brackets,
    Currency,
    Shift,
    Ordinal { upper: bool },
    Roman { upper: bool },
    Exponent,
    Char(char),
}

/// What the template asks for, as PostgreSQL's `NUMDesc`.
#[derive(Debug, Default)]
struct Desc {
    pre: usize,
    post: usize,
    /// Digits after `V`.
    multi: usize,
    decimal: bool,
    zero: bool,
    /// 0-based position of the first `0` among the digits before the point.
    zero_start: usize,
    /// Digit positions up to the last `0`.
    zero_end: usize,
    fill: bool,
    brackets: bool,
    minus: bool,
    plus: bool,
    /// `S`: written before the digits (`true`) or after them.
    lsign: Option<bool>,
    pre_lsign_num: usize,
    roman: bool,
    exponent: bool,
}

fn keys(template: &str) -> Vec<Key> {
    const WORDS: &[(&str, Key)] = &[
        ("EEEE", Key::Exponent),
        ("FM", Key::Char('\0')),
        ("fm", Key::Char('\0')),
        ("MI", Key::Minus),
        ("mi", Key::Minus),
        ("PL", Key::Plus),
        ("pl", Key::Plus),
        ("SG", Key::SignedGroup),
        ("sg", Key::SignedGroup),
        ("PR", Key::Brackets),
        ("pr", Key::Brackets),
        ("RN", Key::Roman { upper: true }),
        ("rn", Key::Roman { upper: false }),
        ("TH", Key::Ordinal { upper: true }),
        ("th", Key::Ordinal { upper: false }),
    ];
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if let Some((w, k)) = WORDS.iter().find(|(w, _)| rest.starts_with(w)) {
            // FM is a flag, kept as a NUL marker the description reads.
            out.push(*k);
            rest = &rest[w.len()..];
            continue;
        }
        out.push(match c {
            '9' => Key::Nine,
            '0' => Key::Zero,
            '.' | 'D' | 'd' => Key::Point,
            ',' | 'G' | 'g' => Key::Group,
            'S' | 's' => Key::Sign,
            'L' | 'l' => Key::Currency,
            'V' | 'v' => Key::Shift,
            other => Key::Char(other),
        });
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn describe(keys: &[Key]) -> Desc {
    let mut d = Desc {
        lsign: None,
        ..Desc::default()
    };
    let mut multi_mode = false;
    for k in keys {
        match k {
            Key::Char('\0') => d.fill = true,
            Key::Nine | Key::Zero => {
                if *k == Key::Zero && !d.zero && !d.decimal {
                    d.zero = true;
                    d.zero_start = d.pre;
                }
                // A digit after V is shifted in, and written.
                if multi_mode {
                    d.multi += 1;
                }
                if d.decimal {
                    d.post += 1;
                } else {
                    d.pre += 1;
                }
                if *k == Key::Zero {
                    d.zero_end = d.pre + d.post;
                }
            }
            Key::Point => d.decimal = true,
            Key::Sign if d.lsign.is_none() => {
                d.lsign = Some(!d.decimal);
                if !d.decimal {
                    d.pre_lsign_num = d.pre;
                }
            }
            Key::Minus => d.minus = true,
            Key::Plus => d.plus = true,
            Key::SignedGroup => {
                d.minus = true;
                d.plus = true;
            }
            Key::Brackets => d.brackets = true,
            Key::Shift => multi_mode = true,
            Key::Roman { .. } => d.roman = true,
            Key::Exponent => d.exponent = true,
            _ => {}
        }
    }
    d
}

/// `value` (decimal text, `-` for negative) rounded half away from zero to
/// `scale` decimals, as decimal text.
fn rounded(value: &str, scale: usize) -> String {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, value),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mut all: Vec<u8> = int
        .bytes()
        .chain(frac.bytes().chain(std::iter::repeat(b'0')).take(scale))
        .collect();
    let round_up = frac.as_bytes().get(scale).is_some_and(|d| *d >= b'5');
    if round_up {
        let mut i = all.len();
        loop {
            if i == 0 {
                all.insert(0, b'1');
                break;
            }
            i -= 1;
            if all[i] == b'9' {
                all[i] = b'0';
            } else {
                all[i] += 1;
                break;
            }
        }
    }
    let split = all.len() - scale;
    let mut int_part: String = String::from_utf8_lossy(&all[..split])
        .trim_start_matches('0')
        .to_string();
    if int_part.is_empty() {
        int_part.push('0');
    }
    let frac_part = String::from_utf8_lossy(&all[split..]).to_string();
    let is_zero = int_part == "0" && frac_part.bytes().all(|b| b == b'0');
    let mut out = String::new();
    if negative && !is_zero {
        out.push('-');
    }
    out.push_str(&int_part);
    if scale > 0 {
        out.push('.');
        out.push_str(&frac_part);
    }
    out
}

/// `value` shifted `places` decimal places left (`V`).
fn shifted(value: &str, places: usize) -> String {
    if places == 0 {
        return value.to_string();
    }
    let (sign, digits) = match value.strip_prefix('-') {
        Some(d) => ("-", d),
        None => ("", value),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let moved: String = frac
        .chars()
        .chain(std::iter::repeat('0'))
        .take(places)
        .collect();
    let rest = frac.get(places..).unwrap_or("");
    let int = format!("{int}{moved}");
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    if rest.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{rest}")
    }
}

fn roman(n: i64) -> Option<String> {
    if !(1..=3999).contains(&n) {
        return None;
    }
    const PARTS: [(i64, &str); 13] = [
        (1000, "M"),
        (900, "CM"),
        (500, "D"),
        (400, "CD"),
        (100, "C"),
        (90, "XC"),
        (50, "L"),
        (40, "XL"),
        (10, "X"),
        (9, "IX"),
        (5, "V"),
        (4, "IV"),
        (1, "I"),
    ];
    let mut n = n;
    let mut out = String::new();
    for (v, s) in PARTS {
        while n >= v {
            out.push_str(s);
            n -= v;
        }
    }
    Some(out)
}

/// The number the last two digits of `int_digits` make (all an ordinal
/// suffix depends on).
fn last_two_digits(int_digits: &str) -> i64 {
    let tail = &int_digits[int_digits.len().saturating_sub(2)..];
    tail.parse().unwrap_or(0)
}

/// `value` (decimal text) written by `template`.
pub fn to_char(value: &str, template: &str) -> String {
    let keys = keys(template);
    let mut d = describe(&keys);
    if d.roman {
        let r = rounded(value, 0);
        let text = r
            .parse::<i64>()
            .ok()
            .and_then(roman)
            .unwrap_or_else(|| "#".repeat(15));
        let upper = keys.contains(&Key::Roman { upper: true });
        let text = if upper { text } else { text.to_lowercase() };
        return if d.fill { text } else { format!("{text:>15}") };
    }
    if d.exponent {
        return exponent(value, &d);
    }
    let value = shifted(value, d.multi);
    let number_text = rounded(&value, d.post);
    let (sign, digits) = match number_text.strip_prefix('-') {
        Some(n) => ('-', n.to_string()),
        None => ('+', number_text.clone()),
    };
    let pre_len = digits.find('.').unwrap_or(digits.len());
    let (number, out_pre_spaces) = if pre_len <= d.pre {
        (digits.clone(), d.pre - pre_len)
    } else {
        let mut n = "#".repeat(d.pre);
        n.push('.');
        n.push_str(&"#".repeat(d.post));
        (n, 0)
    };
    let int_digits = digits[..pre_len].to_string();
    Processor::new(&mut d, number, out_pre_spaces, sign).run(&keys, &int_digits)
}

/// `EEEE`: one digit, the template's decimals (rounded as the exact value
/// rounds), `e`, the exponent's sign and at least two digits.
fn exponent(value: &str, d: &Desc) -> String {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(v) => (true, v),
        None => (false, value),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all: String = format!("{int}{frac}");
    let (mantissa, exp) = match all.find(|c: char| c != '0') {
        // The first significant digit, the point after it.
        Some(first) => {
            let exp = int.len() as i64 - 1 - first as i64;
            (
                format!("{}.{}", &all[first..=first], &all[first + 1..]),
                exp,
            )
        }
        None => ("0".to_string(), 0),
    };
    // 9.995 rounds to 10.00e+00, as PostgreSQL leaves it.
    let m = rounded(&mantissa, d.post);
    let sign = if negative && !all.trim_start_matches('0').is_empty() {
        "-"
    } else if d.fill {
        ""
    } else {
        " "
    };
    format!(
        "{sign}{m}e{}{:02}",
        if exp < 0 { '-' } else { '+' },
        exp.abs()
    )
}

/// PostgreSQL's `NUM_processor` writing a number.
struct Processor<'a> {
    d: &'a mut Desc,
    number: Vec<u8>,
    /// Reading position in `number`.
    at: usize,
    out_pre_spaces: usize,
    sign: char,
    sign_wrote: bool,
    num_in: bool,
    num_curr: usize,
    num_count: usize,
    last_relevant: Option<usize>,
    out: String,
}

impl<'a> Processor<'a> {
    fn new(d: &'a mut Desc, number: String, out_pre_spaces: usize, sign: char) -> Processor<'a> {
        let mut p = Processor {
            number: number.into_bytes(),
            at: 0,
            out_pre_spaces,
            sign,
            sign_wrote: false,
            num_in: false,
            num_curr: 0,
            num_count: 0,
            last_relevant: None,
            out: String::new(),
            d,
        };
        if p.d.plus || p.d.minus {
            p.sign_wrote = !p.d.plus || p.d.minus;
        } else {
            if p.sign != '-' && p.d.fill {
                p.d.brackets = false;
            }
            p.sign_wrote = p.sign == '+' && p.d.fill && p.d.lsign.is_none();
            if p.d.lsign == Some(true) && p.d.pre == p.d.pre_lsign_num {
                p.d.lsign = Some(false);
            }
        }
        p.num_count = p.d.post + p.d.pre.saturating_sub(1);
        if p.d.fill && p.d.decimal {
            p.last_relevant = p.number.iter().position(|&b| b == b'.').map(|point| {
                let mut last = point;
                for (i, &b) in p.number.iter().enumerate().skip(point + 1) {
                    if b != b'0' {
                        last = i;
                    }
                }
                last
            });
            if let Some(last) = p.last_relevant {
                if p.d.zero_end > p.out_pre_spaces {
                    let last_zero = p.d.zero_end - p.out_pre_spaces;
                    if last < last_zero {
                        p.last_relevant = Some(last_zero.min(p.number.len().saturating_sub(1)));
                    }
                }
            }
        }
        if !p.sign_wrote && p.out_pre_spaces == 0 {
            p.num_count += 1;
        }
        p
    }

    fn current(&self) -> u8 {
        self.number.get(self.at).copied().unwrap_or(0)
    }

    /// `9.9` of `0.1` writes ` .1`: the zero before the point is a blank.
    fn predecimal_space(&self) -> bool {
        !self.d.zero && self.at == 0 && self.number.first() == Some(&b'0') && self.d.post != 0
    }

    fn write_sign_if_due(&mut self) {
        let due = self.num_curr >= self.out_pre_spaces
            || (self.d.zero && self.d.zero_start == self.num_curr);
        let relevant_point = self
            .last_relevant
            .is_some_and(|l| self.number.get(l) == Some(&b'.'));
        if self.sign_wrote || !due || (self.predecimal_space() && !relevant_point) {
            return;
        }
        if self.d.lsign == Some(true) {
            self.out.push(if self.sign == '-' { '-' } else { '+' });
            self.sign_wrote = true;
        } else if self.d.lsign.is_some() {
            // Written after the digits.
        } else if self.d.brackets {
            self.out.push(if self.sign == '+' { ' ' } else { '<' });
            self.sign_wrote = true;
        } else if self.sign == '+' {
            if !self.d.fill {
                self.out.push(' ');
            }
            self.sign_wrote = true;
        } else {
            self.out.push('-');
            self.sign_wrote = true;
        }
    }

    fn digit(&mut self, key: Key) {
        self.num_in = false;
        self.write_sign_if_due();
        let relevant_point = self
            .last_relevant
            .is_some_and(|l| self.number.get(l) == Some(&b'.'));
        if self.num_curr < self.out_pre_spaces
            && (self.d.zero_start > self.num_curr || !self.d.zero)
        {
            if !self.d.fill {
                self.out.push(' ');
            }
        } else if self.d.zero
            && self.num_curr < self.out_pre_spaces
            && self.d.zero_start <= self.num_curr
        {
            self.out.push('0');
            self.num_in = true;
        } else {
            if self.current() == b'.' {
                if !relevant_point || self.d.fill {
                    self.out.push('.');
                }
            } else if self.last_relevant.is_some_and(|l| self.at > l) && key != Key::Zero {
                // Fill mode drops trailing zeros.
            } else if self.predecimal_space() {
                if !self.d.fill {
                    self.out.push(' ');
                } else if relevant_point {
                    self.out.push('0');
                }
            } else {
                self.out.push(char::from(self.current()));
                self.num_in = true;
            }
            if self.at < self.number.len() {
                self.at += 1;
            }
        }
        let mut end =
            self.num_count + usize::from(self.out_pre_spaces > 0) + usize::from(self.d.decimal);
        if self.last_relevant.is_some_and(|l| l == self.at) {
            end = self.num_curr;
        }
        if self.num_curr + 1 == end {
            if self.sign_wrote && self.d.brackets {
                self.out.push(if self.sign == '+' { ' ' } else { '>' });
            } else if self.d.lsign == Some(false) {
                self.out.push(if self.sign == '-' { '-' } else { '+' });
            }
        }
        self.num_curr += 1;
    }

    fn run(mut self, keys: &[Key], int_digits: &str) -> String {
        for key in keys {
            match *key {
                Key::Nine | Key::Zero | Key::Point => self.digit(*key),
                Key::Group => {
                    if !self.num_in {
                        if !self.d.fill {
                            self.out.push(' ');
                        }
                    } else {
                        self.out.push(',');
                    }
                }
                Key::Currency => {
                    if !self.d.fill {
                        self.out.push(' ');
                    }
                }
                Key::Minus => {
                    if self.sign == '-' {
                        self.out.push('-');
                    } else if !self.d.fill {
                        self.out.push(' ');
                    }
                }
                Key::Plus => {
                    if self.sign == '+' {
                        self.out.push('+');
                    } else if !self.d.fill {
                        self.out.push(' ');
                    }
                }
                Key::SignedGroup => self.out.push(self.sign),
                Key::Ordinal { upper } => {
                    // Only whole, non-negative numbers take a suffix.
                    let whole = !self.d.decimal && self.number.first() != Some(&b'#');
                    if self.sign != '-' && whole {
                        self.out
                            .push_str(&crate::functions::to_char::ordinal_suffix(
                                last_two_digits(int_digits),
                                upper,
                            ));
                    }
                }
                Key::Char('\0') | Key::Sign | Key::Brackets | Key::Shift => {}
                Key::Roman { .. } | Key::Exponent => {}
                Key::Char(c) => self.out.push(c),
            }
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::to_char;

    /// (value, template, what PostgreSQL 15's to_char gives for it).
    const POSTGRES: &[(&str, &str, &str)] = &[
        ("0", "9999.99", "     .00"),
        ("0", "FM9999.99", "0."),
        ("0", "0000.00", " 0000.00"),
        ("0", "9,999.99", "      .00"),
        ("0", "FM9,999,999.00", ".00"),
        ("0", "999", "   0"),
        ("0", "S9999.99", "    +.00"),
        ("0", "9999.99S", "    .00+"),
        ("0", "MI9999.99", "     .00"),
        ("0", "9999.99MI", "    .00 "),
        ("0", "PL999", "+   0"),
        ("0", "SG999", "+  0"),
        ("0", "999PR", "   0 "),
        ("0", "FM999PR", "0"),
        ("0", "99.9", "   .0"),
        ("0", "FM0.00", "0.00"),
        ("0", "9G999D99", "      .00"),
        ("0", "FM9999", "0"),
        ("0", "L9999.99", "      .00"),
        ("0", "9999", "    0"),
        ("0", "0.99", " 0.00"),
        ("0", "FM990.00", "0.00"),
        ("0", "999.999", "    .000"),
        ("0", "FM999.999", "0."),
        ("0", "9.99EEEE", " 0.00e+00"),
        ("0", "RN", "###############"),
        ("0", "FMRN", "###############"),
        ("0", "999th", "   0th"),
        ("0", "99V99", "    0"),
        ("0", "FM9.9", "0."),
        ("1234.5", "9999.99", " 1234.50"),
        ("1234.5", "FM9999.99", "1234.5"),
        ("1234.5", "0000.00", " 1234.50"),
        ("1234.5", "9,999.99", " 1,234.50"),
        ("1234.5", "FM9,999,999.00", "1,234.50"),
        ("1234.5", "999", " ###"),
        ("1234.5", "S9999.99", "+1234.50"),
        ("1234.5", "9999.99S", "1234.50+"),
        ("1234.5", "MI9999.99", " 1234.50"),
        ("1234.5", "9999.99MI", "1234.50 "),
        ("1234.5", "PL999", "+ ###"),
        ("1234.5", "SG999", "+###"),
        ("1234.5", "999PR", " ### "),
        ("1234.5", "FM999PR", "###"),
        ("1234.5", "99.9", " ##.#"),
        ("1234.5", "FM0.00", "#.##"),
        ("1234.5", "9G999D99", " 1,234.50"),
        ("1234.5", "FM9999", "1235"),
        ("1234.5", "L9999.99", "  1234.50"),
        ("1234.5", "9999", " 1235"),
        ("1234.5", "0.99", " #.##"),
        ("1234.5", "FM990.00", "###.##"),
        ("1234.5", "999.999", " ###.###"),
        ("1234.5", "FM999.999", "###.###"),
        ("1234.5", "9.99EEEE", " 1.23e+03"),
        ("1234.5", "RN", "        MCCXXXV"),
        ("1234.5", "FMRN", "MCCXXXV"),
        ("1234.5", "999th", " ###"),
        ("1234.5", "99V99", " ####"),
        ("1234.5", "FM9.9", "#.#"),
        ("-1234.5", "9999.99", "-1234.50"),
        ("-1234.5", "FM9999.99", "-1234.5"),
        ("-1234.5", "0000.00", "-1234.50"),
        ("-1234.5", "9,999.99", "-1,234.50"),
        ("-1234.5", "FM9,999,999.00", "-1,234.50"),
        ("-1234.5", "999", "-###"),
        ("-1234.5", "S9999.99", "-1234.50"),
        ("-1234.5", "9999.99S", "1234.50-"),
        ("-1234.5", "MI9999.99", "-1234.50"),
        ("-1234.5", "9999.99MI", "1234.50-"),
        ("-1234.5", "PL999", " -###"),
        ("-1234.5", "SG999", "-###"),
        ("-1234.5", "999PR", "<###>"),
        ("-1234.5", "FM999PR", "<###>"),
        ("-1234.5", "99.9", "-##.#"),
        ("-1234.5", "FM0.00", "-#.##"),
        ("-1234.5", "9G999D99", "-1,234.50"),
        ("-1234.5", "FM9999", "-1235"),
        ("-1234.5", "L9999.99", " -1234.50"),
        ("-1234.5", "9999", "-1235"),
        ("-1234.5", "0.99", "-#.##"),
        ("-1234.5", "FM990.00", "-###.##"),
        ("-1234.5", "999.999", "-###.###"),
        ("-1234.5", "FM999.999", "-###.###"),
        ("-1234.5", "9.99EEEE", "-1.23e+03"),
        ("-1234.5", "RN", "###############"),
        ("-1234.5", "FMRN", "###############"),
        ("-1234.5", "999th", "-###"),
        ("-1234.5", "99V99", "-####"),
        ("-1234.5", "FM9.9", "-#.#"),
        ("0.5", "9999.99", "     .50"),
        ("0.5", "FM9999.99", ".5"),
        ("0.5", "0000.00", " 0000.50"),
        ("0.5", "9,999.99", "      .50"),
        ("0.5", "FM9,999,999.00", ".50"),
        ("0.5", "999", "   1"),
        ("0.5", "S9999.99", "    +.50"),
        ("0.5", "9999.99S", "    .50+"),
        ("0.5", "MI9999.99", "     .50"),
        ("0.5", "9999.99MI", "    .50 "),
        ("0.5", "PL999", "+   1"),
        ("0.5", "SG999", "+  1"),
        ("0.5", "999PR", "   1 "),
        ("0.5", "FM999PR", "1"),
        ("0.5", "99.9", "   .5"),
        ("0.5", "FM0.00", "0.50"),
        ("0.5", "9G999D99", "      .50"),
        ("0.5", "FM9999", "1"),
        ("0.5", "L9999.99", "      .50"),
        ("0.5", "9999", "    1"),
        ("0.5", "0.99", " 0.50"),
        ("0.5", "FM990.00", "0.50"),
        ("0.5", "999.999", "    .500"),
        ("0.5", "FM999.999", ".5"),
        ("0.5", "9.99EEEE", " 5.00e-01"),
        ("0.5", "RN", "              I"),
        ("0.5", "FMRN", "I"),
        ("0.5", "999th", "   1st"),
        ("0.5", "99V99", "   50"),
        ("0.5", "FM9.9", ".5"),
        ("-0.5", "9999.99", "    -.50"),
        ("-0.5", "FM9999.99", "-.5"),
        ("-0.5", "0000.00", "-0000.50"),
        ("-0.5", "9,999.99", "     -.50"),
        ("-0.5", "FM9,999,999.00", "-.50"),
        ("-0.5", "999", "  -1"),
        ("-0.5", "S9999.99", "    -.50"),
        ("-0.5", "9999.99S", "    .50-"),
        ("-0.5", "MI9999.99", "-    .50"),
        ("-0.5", "9999.99MI", "    .50-"),
        ("-0.5", "PL999", "   -1"),
        ("-0.5", "SG999", "-  1"),
        ("-0.5", "999PR", "  <1>"),
        ("-0.5", "FM999PR", "<1>"),
        ("-0.5", "99.9", "  -.5"),
        ("-0.5", "FM0.00", "-0.50"),
        ("-0.5", "9G999D99", "     -.50"),
        ("-0.5", "FM9999", "-1"),
        ("-0.5", "L9999.99", "     -.50"),
        ("-0.5", "9999", "   -1"),
        ("-0.5", "0.99", "-0.50"),
        ("-0.5", "FM990.00", "-0.50"),
        ("-0.5", "999.999", "   -.500"),
        ("-0.5", "FM999.999", "-.5"),
        ("-0.5", "9.99EEEE", "-5.00e-01"),
        ("-0.5", "RN", "###############"),
        ("-0.5", "FMRN", "###############"),
        ("-0.5", "999th", "  -1"),
        ("-0.5", "99V99", "  -50"),
        ("-0.5", "FM9.9", "-.5"),
        ("42", "9999.99", "   42.00"),
        ("42", "FM9999.99", "42."),
        ("42", "0000.00", " 0042.00"),
        ("42", "9,999.99", "    42.00"),
        ("42", "FM9,999,999.00", "42.00"),
        ("42", "999", "  42"),
        ("42", "S9999.99", "  +42.00"),
        ("42", "9999.99S", "  42.00+"),
        ("42", "MI9999.99", "   42.00"),
        ("42", "9999.99MI", "  42.00 "),
        ("42", "PL999", "+  42"),
        ("42", "SG999", "+ 42"),
        ("42", "999PR", "  42 "),
        ("42", "FM999PR", "42"),
        ("42", "99.9", " 42.0"),
        ("42", "FM0.00", "#.##"),
        ("42", "9G999D99", "    42.00"),
        ("42", "FM9999", "42"),
        ("42", "L9999.99", "    42.00"),
        ("42", "9999", "   42"),
        ("42", "0.99", " #.##"),
        ("42", "FM990.00", "42.00"),
        ("42", "999.999", "  42.000"),
        ("42", "FM999.999", "42."),
        ("42", "9.99EEEE", " 4.20e+01"),
        ("42", "RN", "           XLII"),
        ("42", "FMRN", "XLII"),
        ("42", "999th", "  42nd"),
        ("42", "99V99", " 4200"),
        ("42", "FM9.9", "#.#"),
        ("-42", "9999.99", "  -42.00"),
        ("-42", "FM9999.99", "-42."),
        ("-42", "0000.00", "-0042.00"),
        ("-42", "9,999.99", "   -42.00"),
        ("-42", "FM9,999,999.00", "-42.00"),
        ("-42", "999", " -42"),
        ("-42", "S9999.99", "  -42.00"),
        ("-42", "9999.99S", "  42.00-"),
        ("-42", "MI9999.99", "-  42.00"),
        ("-42", "9999.99MI", "  42.00-"),
        ("-42", "PL999", "  -42"),
        ("-42", "SG999", "- 42"),
        ("-42", "999PR", " <42>"),
        ("-42", "FM999PR", "<42>"),
        ("-42", "99.9", "-42.0"),
        ("-42", "FM0.00", "-#.##"),
        ("-42", "9G999D99", "   -42.00"),
        ("-42", "FM9999", "-42"),
        ("-42", "L9999.99", "   -42.00"),
        ("-42", "9999", "  -42"),
        ("-42", "0.99", "-#.##"),
        ("-42", "FM990.00", "-42.00"),
        ("-42", "999.999", " -42.000"),
        ("-42", "FM999.999", "-42."),
        ("-42", "9.99EEEE", "-4.20e+01"),
        ("-42", "RN", "###############"),
        ("-42", "FMRN", "###############"),
        ("-42", "999th", " -42"),
        ("-42", "99V99", "-4200"),
        ("-42", "FM9.9", "-#.#"),
        ("123456789", "9999.99", " ####.##"),
        ("123456789", "FM9999.99", "####.##"),
        ("123456789", "0000.00", " ####.##"),
        ("123456789", "9,999.99", " #,###.##"),
        ("123456789", "FM9,999,999.00", "#,###,###.##"),
        ("123456789", "999", " ###"),
        ("123456789", "S9999.99", "+####.##"),
        ("123456789", "9999.99S", "####.##+"),
        ("123456789", "MI9999.99", " ####.##"),
        ("123456789", "9999.99MI", "####.## "),
        ("123456789", "PL999", "+ ###"),
        ("123456789", "SG999", "+###"),
        ("123456789", "999PR", " ### "),
        ("123456789", "FM999PR", "###"),
        ("123456789", "99.9", " ##.#"),
        ("123456789", "FM0.00", "#.##"),
        ("123456789", "9G999D99", " #,###.##"),
        ("123456789", "FM9999", "####"),
        ("123456789", "L9999.99", "  ####.##"),
        ("123456789", "9999", " ####"),
        ("123456789", "0.99", " #.##"),
        ("123456789", "FM990.00", "###.##"),
        ("123456789", "999.999", " ###.###"),
        ("123456789", "FM999.999", "###.###"),
        ("123456789", "9.99EEEE", " 1.23e+08"),
        ("123456789", "RN", "###############"),
        ("123456789", "FMRN", "###############"),
        ("123456789", "999th", " ###"),
        ("123456789", "99V99", " ####"),
        ("123456789", "FM9.9", "#.#"),
        ("1.005", "9999.99", "    1.01"),
        ("1.005", "FM9999.99", "1.01"),
        ("1.005", "0000.00", " 0001.01"),
        ("1.005", "9,999.99", "     1.01"),
        ("1.005", "FM9,999,999.00", "1.01"),
        ("1.005", "999", "   1"),
        ("1.005", "S9999.99", "   +1.01"),
        ("1.005", "9999.99S", "   1.01+"),
        ("1.005", "MI9999.99", "    1.01"),
        ("1.005", "9999.99MI", "   1.01 "),
        ("1.005", "PL999", "+   1"),
        ("1.005", "SG999", "+  1"),
        ("1.005", "999PR", "   1 "),
        ("1.005", "FM999PR", "1"),
        ("1.005", "99.9", "  1.0"),
        ("1.005", "FM0.00", "1.01"),
        ("1.005", "9G999D99", "     1.01"),
        ("1.005", "FM9999", "1"),
        ("1.005", "L9999.99", "     1.01"),
        ("1.005", "9999", "    1"),
        ("1.005", "0.99", " 1.01"),
        ("1.005", "FM990.00", "1.01"),
        ("1.005", "999.999", "   1.005"),
        ("1.005", "FM999.999", "1.005"),
        ("1.005", "9.99EEEE", " 1.01e+00"),
        ("1.005", "RN", "              I"),
        ("1.005", "FMRN", "I"),
        ("1.005", "999th", "   1st"),
        ("1.005", "99V99", "  101"),
        ("1.005", "FM9.9", "1."),
        ("0.001", "9999.99", "     .00"),
        ("0.001", "FM9999.99", "0."),
        ("0.001", "0000.00", " 0000.00"),
        ("0.001", "9,999.99", "      .00"),
        ("0.001", "FM9,999,999.00", ".00"),
        ("0.001", "999", "   0"),
        ("0.001", "S9999.99", "    +.00"),
        ("0.001", "9999.99S", "    .00+"),
        ("0.001", "MI9999.99", "     .00"),
        ("0.001", "9999.99MI", "    .00 "),
        ("0.001", "PL999", "+   0"),
        ("0.001", "SG999", "+  0"),
        ("0.001", "999PR", "   0 "),
        ("0.001", "FM999PR", "0"),
        ("0.001", "99.9", "   .0"),
        ("0.001", "FM0.00", "0.00"),
        ("0.001", "9G999D99", "      .00"),
        ("0.001", "FM9999", "0"),
        ("0.001", "L9999.99", "      .00"),
        ("0.001", "9999", "    0"),
        ("0.001", "0.99", " 0.00"),
        ("0.001", "FM990.00", "0.00"),
        ("0.001", "999.999", "    .001"),
        ("0.001", "FM999.999", ".001"),
        ("0.001", "9.99EEEE", " 1.00e-03"),
        ("0.001", "RN", "###############"),
        ("0.001", "FMRN", "###############"),
        ("0.001", "999th", "   0th"),
        ("0.001", "99V99", "    0"),
        ("0.001", "FM9.9", "0."),
        ("42", "999", "  42"),
        ("42", "FM999", "42"),
        ("42", "000", " 042"),
        ("42", "S99", "+42"),
        ("-7", "999", "  -7"),
        ("-7", "FM999", "-7"),
        ("-7", "000", "-007"),
        ("-7", "S99", " -7"),
        ("0", "999", "   0"),
        ("0", "FM999", "0"),
        ("0", "000", " 000"),
        ("0", "S99", " +0"),
        ("3.14159", "9.99", " 3.14"),
        ("3.14159", "FM9.999", "3.142"),
        ("3.14159", "9.99EEEE", " 3.14e+00"),
        ("-2.5", "9.99", "-2.50"),
        ("-2.5", "FM9.999", "-2.5"),
        ("-2.5", "9.99EEEE", "-2.50e+00"),
        ("10000000000", "9.99", " #.##"),
        ("10000000000", "FM9.999", "#.###"),
        ("10000000000", "9.99EEEE", " 1.00e+10"),
        ("9.995", "9.99EEEE", " 10.00e+00"),
        ("-0.00001", "9.99EEEE", "-1.00e-05"),
        ("1234.5", "FM9999.99th", "1234.5"),
        ("11", "99th", " 11th"),
        ("-5", "S999", "  -5"),
        ("5", "999S", "  5+"),
        ("-5", "FM999MI", "5-"),
        ("1234567.891", "9G999G999D999", " 1,234,567.891"),
    ];

    #[test]
    fn numbers_are_written_as_postgres_writes_them() {
        let differ: Vec<String> = POSTGRES
            .iter()
            .filter(|(v, t, want)| to_char(v, t) != *want)
            .map(|(v, t, want)| format!("{v} / {t}: {:?}, not {want:?}", to_char(v, t)))
            .collect();
        assert!(differ.is_empty(), "{}", differ.join("\n"));
    }
}
