//! wordcount - reads standard input and prints line, word and byte counts
//! and the ten most frequent words (ties broken alphabetically, so the
//! output never depends on hash order). Words are runs of alphanumeric
//! characters, lower-cased; input that is not UTF-8 is read lossily.
//! With `--top N` the list has N entries. Exits 1 with a message on a read
//! error or a bad flag.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::process;

fn parse_top(args: &[String]) -> Result<usize, String> {
    match args {
        [] => Ok(10),
        [flag, n] if flag == "--top" => n.parse().map_err(|_| format!("bad --top value '{}'", n)),
        _ => Err(format!("usage: wordcount [--top N] < input")),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let top = parse_top(&args).unwrap_or_else(|e| {
        eprintln!("wordcount: {}", e);
        process::exit(2);
    });
    let stdin = io::stdin();
    let mut reader = stdin.lock();
    let mut counts: HashMap<String, u64> = HashMap::new();
    let (mut lines, mut words, mut bytes) = (0u64, 0u64, 0u64);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = match reader.read_until(b'\n', &mut buf) {
            Ok(n) => n,
            Err(e) => {
                eprintln!("wordcount: read error: {}", e);
                process::exit(1);
            }
        };
        if n == 0 {
            break;
        }
        bytes += n as u64;
        if buf.ends_with(b"\n") {
            lines += 1;
        }
        let text = String::from_utf8_lossy(&buf);
        for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            words += 1;
            *counts.entry(word.to_lowercase()).or_insert(0) += 1;
        }
    }
    let mut ranked: Vec<(&String, &u64)> = counts.iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let out = io::stdout();
    let mut out = out.lock();
    writeln!(out, "lines={} words={} bytes={} distinct={}", lines, words, bytes, counts.len())
        .unwrap();
    for (word, n) in ranked.iter().take(top) {
        writeln!(out, "{:>8} {}", n, word).unwrap();
    }
}
