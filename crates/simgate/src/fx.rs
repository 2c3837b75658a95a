//! `simgate fx load <file>`: reading an FX rate file.
//!
//! Two formats, chosen by the file's extension:
//! - CSV (`.csv`): one `BASE,QUOTE,RATE` line per rate, e.g. `USD,EUR,0.92`;
//!   blank lines, `#` comments and a `base,quote,rate` header are skipped.
//! - TOML (`.toml`): `[[rate]]` tables with `base`, `quote` and `rate`, the
//!   rate a *string* (`rate = "0.92"`) so it is never read through a float.
//!
//! Rates are exact decimals: one unit of BASE is worth RATE units of QUOTE.

use std::path::Path;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;
use simgate_domain::Currency;
use simgate_domain::orchestration::FxRate;

/// Why a rate file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FxFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: the extension must be .csv or .toml")]
    UnknownFormat { path: String },
    #[error("line {line}: {reason}")]
    Csv { line: usize, reason: String },
    #[error("invalid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("rate {index}: {reason}")]
    Rate { index: usize, reason: String },
}

/// A rate file in TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlRates {
    #[serde(default)]
    rate: Vec<TomlRate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlRate {
    base: String,
    quote: String,
    rate: String,
}

/// Reads the rates of a CSV or TOML file (see the module documentation).
pub fn read_rates_file(path: &Path) -> Result<Vec<FxRate>, FxFileError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| FxFileError::Read {
        path: shown.clone(),
        source,
    })?;
    match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => parse_csv(&text),
        Some("toml") => parse_toml(&text),
        _ => Err(FxFileError::UnknownFormat { path: shown }),
    }
}

/// Parses `BASE,QUOTE,RATE` lines.
pub fn parse_csv(text: &str) -> Result<Vec<FxRate>, FxFileError> {
    let mut rates = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if rates.is_empty()
            && cells
                .first()
                .is_some_and(|c| c.eq_ignore_ascii_case("base"))
        {
            continue;
        }
        let [base, quote, rate] = cells[..] else {
            return Err(FxFileError::Csv {
                line: number + 1,
                reason: format!("expected BASE,QUOTE,RATE, got {line:?}"),
            });
        };
        rates.push(
            parse_rate(base, quote, rate).map_err(|reason| FxFileError::Csv {
                line: number + 1,
                reason,
            })?,
        );
    }
    Ok(rates)
}

/// Parses `[[rate]]` tables.
pub fn parse_toml(text: &str) -> Result<Vec<FxRate>, FxFileError> {
    let file: TomlRates = toml::from_str(text)?;
    file.rate
        .iter()
        .enumerate()
        .map(|(index, r)| {
            parse_rate(&r.base, &r.quote, &r.rate)
                .map_err(|reason| FxFileError::Rate { index, reason })
        })
        .collect()
}

/// One rate from its three texts; the FX table checks sign and pair.
pub fn parse_rate(base: &str, quote: &str, rate: &str) -> Result<FxRate, String> {
    Ok(FxRate {
        base: Currency::parse(base).map_err(|e| e.to_string())?,
        quote: Currency::parse(quote).map_err(|e| e.to_string())?,
        rate: Decimal::from_str(rate.trim())
            .map_err(|_| format!("rate {rate:?} is not an exact decimal"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_toml_read_the_same_rates() {
        let csv = parse_csv("# rates\nbase,quote,rate\nUSD,EUR,0.92\n\ngbp, usd, 1.25\n").unwrap();
        let toml = parse_toml(
            "[[rate]]\nbase = \"USD\"\nquote = \"EUR\"\nrate = \"0.92\"\n[[rate]]\nbase = \"GBP\"\nquote = \"USD\"\nrate = \"1.25\"\n",
        )
        .unwrap();
        assert_eq!(csv, toml);
        assert_eq!(csv[0].rate, Decimal::from_str("0.92").unwrap());
    }

    #[test]
    fn bad_lines_are_named() {
        let error = parse_csv("USD,EUR,0.92\nUSD,EUR\n").unwrap_err();
        assert!(error.to_string().starts_with("line 2:"), "{error}");
        let error = parse_csv("USD,QQQ,1\n").unwrap_err();
        assert!(error.to_string().starts_with("line 1:"), "{error}");
        assert!(parse_toml("[[rate]]\nbase = \"USD\"\nquote = \"EUR\"\nrate = 0.92\n").is_err());
    }
}
