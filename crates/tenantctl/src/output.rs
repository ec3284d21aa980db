//! What commands print: aligned tables and sentences by default, JSON with `--json`.

use std::io::{self, Write};

use serde::Serialize;

use crate::{CliError, Context};

/// Prints `value` as pretty JSON with `--json`, else runs `human`.
pub fn emit<T: Serialize>(
    ctx: &mut Context<'_>,
    value: &T,
    human: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), CliError> {
    if ctx.json {
        serde_json::to_writer_pretty(&mut *ctx.out, value).map_err(io::Error::from)?;
        writeln!(ctx.out)?;
    } else {
        human(ctx.out)?;
    }
    Ok(())
}

/// Columns aligned on the widest cell; the last column is not padded.
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Self {
            rows: vec![headers.iter().map(|h| h.to_string()).collect()],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.len() == 1
    }

    pub fn write(&self, out: &mut dyn Write, indent: &str) -> io::Result<()> {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &self.rows {
            let mut line = String::from(indent);
            for (c, cell) in row.iter().enumerate() {
                if c + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// `[a, b]`, or `none`.
pub fn list(values: &[String]) -> String {
    tenant_admin::error::list(values)
}

/// Epoch seconds as an RFC 3339 UTC time (`2027-01-15T08:00:00Z`).
pub fn time(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// A duration such as `7d`, `12h`, `30m`, `90s` or `2w`, in seconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (like 7d, 12h, 30m)"))?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" | "" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("'{text}' is not a duration (like 7d, 12h, 30m)")),
    };
    n.checked_mul(seconds)
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("'{text}' is not a positive duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(time(0), "1970-01-01T00:00:00Z");
        assert_eq!(time(1_800_000_000), "2027-01-15T08:00:00Z");
        assert_eq!(time(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("12h"), Ok(43_200));
        assert_eq!(parse_duration("2w"), Ok(1_209_600));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert!(parse_duration("7 days").is_err());
        assert!(parse_duration("0d").is_err());
        assert!(parse_duration("d").is_err());
    }

    #[test]
    fn tables_align_their_columns() {
        let mut t = Table::new(&["ID", "NAME"]);
        t.row(vec!["acme".into(), "Acme Corp".into()]);
        t.row(vec!["a".into(), "A".into()]);
        let mut out = Vec::new();
        t.write(&mut out, "").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ID    NAME\nacme  Acme Corp\na     A\n"
        );
    }
}
