//! Keyset pagination: `limit` (1–100, default 50) and an opaque `cursor` naming the last item seen.

use uuid::Uuid;

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 100;

/// A validated page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub after: Option<Uuid>,
    pub limit: usize,
}

/// Why a page request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("limit must be between 1 and {MAX_LIMIT}")]
    BadLimit,
    #[error("cursor is not valid")]
    BadCursor,
}

impl PageRequest {
    /// Parses the raw query values.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, PageError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as usize,
            Some(_) => return Err(PageError::BadLimit),
        };
        let after = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(decode_cursor(c).ok_or(PageError::BadCursor)?),
        };
        Ok(Self { after, limit })
    }
}

/// The cursor of the item `id` (the next page starts after it).
#[must_use]
pub fn encode_cursor(id: Uuid) -> String {
    id.simple().to_string()
}

fn decode_cursor(raw: &str) -> Option<Uuid> {
    if raw.len() != 32 {
        return None;
    }
    Uuid::try_parse(raw).ok()
}

/// Items of one page and the cursor of the next one, if any.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only signals that more exist.
    pub fn from_overfetch(mut rows: Vec<T>, limit: usize, id_of: impl Fn(&T) -> Uuid) -> Self {
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more {
            rows.last().map(|last| encode_cursor(id_of(last)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_limits_and_cursors() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, 50);
        assert_eq!(PageRequest::parse(Some(0), None), Err(PageError::BadLimit));
        assert_eq!(
            PageRequest::parse(Some(101), None),
            Err(PageError::BadLimit)
        );
        let id = Uuid::now_v7();
        let page = PageRequest::parse(Some(2), Some(&encode_cursor(id))).unwrap();
        assert_eq!(page.after, Some(id));
        assert_eq!(
            PageRequest::parse(None, Some("nope")),
            Err(PageError::BadCursor)
        );
    }

    #[test]
    fn overfetch_sets_next_cursor() {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = Page::from_overfetch(ids.clone(), 2, |u| *u);
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next_cursor, Some(encode_cursor(ids[1])));
        let last = Page::from_overfetch(ids, 3, |u| *u);
        assert_eq!(last.next_cursor, None);
    }
}
