//! The tables: number formats, the table printer and the SUMMARY rows with their targets
//! (the targets and their reasons are listed in docs/performance.md).

pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

pub fn fmt_rate(v: f64) -> String {
    if v.is_nan() {
        "n/a".into()
    } else if v >= 1e6 {
        format!("{:.2}M/s", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k/s", v / 1e3)
    } else {
        format!("{v:.0}/s")
    }
}

pub fn fmt_ratio(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        "n/a".into()
    } else {
        format!("{v:.2}x")
    }
}

pub fn print_table(title: &str, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str(" | ");
            }
            let pad = widths[i].saturating_sub(c.chars().count());
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(pad));
            }
        }
        s
    };
    println!("\n{title}");
    println!("{}", line(header.iter().map(|s| s.to_string()).collect()));
    println!("{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-|-"));
    for r in rows {
        println!("{}", line(r.clone()));
    }
}

pub struct Summary {
    pub rows: Vec<Vec<String>>,
}

#[derive(Clone, Copy)]
pub enum Target {
    /// ratio must be at least this
    AtLeast(f64),
    /// ratio must be at most this
    AtMost(f64),
    /// value must be at most this (absolute, e.g. ms)
    ValueAtMost(f64),
    Info,
}

impl Summary {
    pub fn add(&mut self, metric: &str, value: String, value_num: f64, ratio: f64, vs: &str, target: Target) {
        let ratio_s = if ratio.is_nan() { "-".to_string() } else { format!("{} {vs}", fmt_ratio(ratio)) };
        let (target_s, met) = match target {
            Target::AtLeast(t) => (format!(">= {t:.2}x"), Some(!ratio.is_nan() && ratio >= t)),
            Target::AtMost(t) => (format!("<= {t:.2}x"), Some(!ratio.is_nan() && ratio <= t)),
            Target::ValueAtMost(t) => (format!("<= {t} ms"), Some(!value_num.is_nan() && value_num <= t)),
            Target::Info => ("(info)".to_string(), None),
        };
        let met_s = match met {
            None => "-".to_string(),
            Some(true) => "yes".to_string(),
            Some(false) if value_num.is_nan() || (ratio.is_nan() && !matches!(target, Target::ValueAtMost(_))) => {
                "NOT MEASURED".to_string()
            }
            Some(false) => "NO".to_string(),
        };
        self.rows.push(vec![metric.to_string(), value, ratio_s, target_s, met_s]);
    }
}
