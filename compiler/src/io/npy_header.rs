//! The header of a `.npy` file, parsed and checked before any array is allocated: the magic
//! string, the format version, the header length, the dtype's item size and the shape, whose
//! data must be exactly what follows the header in the file. A header is user input; one
//! that claims shape (10^12, 16) on a file of a few bytes is refused here instead of asking
//! the allocator for 128 TB.

/// What a `.npy` header says about the array that follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NpyHeader {
    /// The numpy dtype descriptor, e.g. `<f4`.
    pub descr: String,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// Offset of the data in the file.
    pub data_offset: usize,
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Parses the header of the `.npy` bytes `bytes` and checks that its shape and dtype
/// account for exactly the bytes after it. The error says what is wrong (not which file:
/// the caller adds that).
pub fn parse(bytes: &[u8]) -> Result<NpyHeader, String> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err("it does not start with the .npy magic string \\x93NUMPY".into());
    }
    let (len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => {
            let b: [u8; 4] = bytes[8..12].try_into().unwrap_or_default();
            (u32::from_le_bytes(b) as usize, 12)
        }
        v => return Err(format!("format version {v} is not 1, 2 or 3")),
    };
    let end = start
        .checked_add(len)
        .filter(|e| *e <= bytes.len())
        .ok_or_else(|| {
            format!(
                "its header claims {len} bytes but the file has only {}",
                bytes.len()
            )
        })?;
    let text = std::str::from_utf8(&bytes[start..end])
        .map_err(|_| "its header is not text".to_string())?;
    let descr = string_field(text, "descr")?;
    let item = item_size(&descr)?;
    let shape = shape_field(text)?;
    let data = bytes.len() - end;
    let claimed = shape
        .iter()
        .try_fold(item as u128, |acc, d| acc.checked_mul(*d as u128))
        .unwrap_or(u128::MAX);
    if claimed != data as u128 {
        let elems = shape
            .iter()
            .try_fold(1u128, |acc, d| acc.checked_mul(*d as u128))
            .map_or("too many".to_string(), |e| e.to_string());
        return Err(format!(
            "its header claims shape {shape:?} of '{descr}' ({elems} elements of {item} bytes), \
             but the file holds {data} bytes of data after the header; the file is truncated \
             or its header is wrong: write it again with numpy.save"
        ));
    }
    Ok(NpyHeader {
        descr,
        shape,
        data_offset: end,
    })
}

/// The text of the quoted value of `key` in the header dict.
fn string_field(text: &str, key: &str) -> Result<String, String> {
    let rest = after_key(text, key)?;
    let quote = rest
        .chars()
        .next()
        .filter(|c| *c == '\'' || *c == '"')
        .ok_or_else(|| format!("its header's '{key}' is not a string"))?;
    let body = &rest[1..];
    let close = body
        .find(quote)
        .ok_or_else(|| format!("its header's '{key}' is not closed"))?;
    Ok(body[..close].to_string())
}

/// The header text right after `'key':` (spaces skipped).
fn after_key<'t>(text: &'t str, key: &str) -> Result<&'t str, String> {
    for q in ['\'', '"'] {
        let pat = format!("{q}{key}{q}");
        if let Some(i) = text.find(&pat) {
            let rest = text[i + pat.len()..].trim_start();
            if let Some(r) = rest.strip_prefix(':') {
                return Ok(r.trim_start());
            }
        }
    }
    Err(format!("its header has no '{key}'"))
}

/// The tuple of `'shape'`.
fn shape_field(text: &str) -> Result<Vec<usize>, String> {
    let rest = after_key(text, "shape")?;
    let bad = || "its header's 'shape' is not a tuple of whole numbers".to_string();
    let body = rest.strip_prefix('(').ok_or_else(bad)?;
    let close = body.find(')').ok_or_else(bad)?;
    body[..close]
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_end_matches('L').parse::<usize>().map_err(|_| bad()))
        .collect()
}

/// The bytes per element of the dtype descriptor `descr` (`<f8`: 8).
fn item_size(descr: &str) -> Result<usize, String> {
    let code = descr.trim_start_matches(['<', '>', '|', '=']);
    let digits: String = code.chars().skip(1).collect();
    match (code.chars().next(), digits.parse::<usize>()) {
        (Some(c), Ok(n)) if c.is_ascii_alphabetic() && n > 0 => Ok(n),
        _ => Err(format!(
            "its dtype '{descr}' is not a plain numeric type (use int64, int32, bool, float32 \
             or float64)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-1 `.npy` file with header `dict` and `data` bytes after it.
    fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut h = dict.to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[1, 0]);
        out.extend_from_slice(&(h.len() as u16).to_le_bytes());
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out
    }

    /// A well-formed header gives its dtype, shape and data offset.
    #[test]
    fn parses_a_header() {
        let f = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
            &[0; 24],
        );
        let h = parse(&f).unwrap();
        assert_eq!(h.descr, "<f4");
        assert_eq!(h.shape, [2, 3]);
        assert_eq!(h.data_offset, 128);
        let scalar = npy(
            "{'descr': '<i8', 'fortran_order': False, 'shape': (), }",
            &[0; 8],
        );
        assert_eq!(parse(&scalar).unwrap().shape, Vec::<usize>::new());
        let one = npy(
            "{'descr': '|b1', 'fortran_order': False, 'shape': (5,), }",
            &[0; 5],
        );
        assert_eq!(parse(&one).unwrap().shape, [5]);
    }

    /// A header claiming (10^12, 16) float64 on a file of 16 data bytes is refused with the
    /// claimed and the actual sizes; so are a short file, bad magic and a bad dtype.
    #[test]
    fn refuses_lying_headers() {
        let f = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 16), }",
            &[0; 16],
        );
        let e = parse(&f).unwrap_err();
        assert!(e.contains("shape [1000000000000, 16] of '<f8'"), "{e}");
        assert!(e.contains("16000000000000 elements of 8 bytes"), "{e}");
        assert!(e.contains("holds 16 bytes"), "{e}");
        let huge = npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 18446744073709551615, 3), }",
            &[],
        );
        let e = parse(&huge).unwrap_err();
        assert!(e.contains("too many elements"), "{e}");
        let short = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
            &[0; 20],
        );
        assert!(parse(&short).unwrap_err().contains("holds 20 bytes"));
        assert!(parse(b"PK\x03\x04 not npy").unwrap_err().contains("magic"));
        let mut cut = npy(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
            &[0; 4],
        );
        cut.truncate(30);
        assert!(parse(&cut).unwrap_err().contains("header claims"));
        let obj = npy(
            "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
            &[0; 8],
        );
        assert!(parse(&obj)
            .unwrap_err()
            .contains("not a plain numeric type"));
    }
}
