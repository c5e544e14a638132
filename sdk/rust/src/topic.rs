//! MQTT topic helpers: filter matching (`+` one level, `#` the rest),
//! levels, and the `sensors/<name>` convention.

/// Whether `topic` matches the MQTT filter `filter`. `+` matches exactly one
/// level, a trailing `#` any number of levels (zero included: `a/#` matches
/// `a`). Topics starting with `$` are not matched by a leading wildcard.
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && (filter.starts_with('+') || filter.starts_with('#')) {
        return false;
    }
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return f.next().is_none(),
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Level `n` (from 0) of a topic, if it has that many.
pub fn level(topic: &str, n: usize) -> Option<&str> {
    topic.split('/').nth(n)
}

/// The last level of a topic (the whole topic if it has no `/`).
pub fn last_level(topic: &str) -> &str {
    match topic.rfind('/') {
        Some(i) => &topic[i + 1..],
        None => topic,
    }
}

/// The sensor name of a driver topic `sensors/<name>`, `None` for any other
/// topic (or an empty name).
pub fn sensor_name(topic: &str) -> Option<&str> {
    match topic.strip_prefix("sensors/") {
        Some(name) if !name.is_empty() => Some(name),
        _ => None,
    }
}

/// Whether `topic` is valid for `publish`: non-empty, no wildcards, no NUL.
pub fn is_publishable(topic: &str) -> bool {
    !topic.is_empty() && !topic.bytes().any(|b| b == b'+' || b == b'#' || b == 0)
}
