//! crunch - number crunching over files: reads each file named on the
//! command line (from a preopened directory under graft), parses one
//! number per whitespace-separated token, and prints count, sum, mean,
//! standard deviation, min, max and median, then a prime sieve and a
//! 64-bit hash of the sorted data. Exercises std::fs, Vec growth, sorting,
//! f64 formatting (Rust's own, identical on every target) and u64 math.
//! A missing file or a bad token is an error on stderr and exit status 3.

use std::fs;
use std::process;

fn stats(name: &str, data: &mut Vec<f64>) {
    let n = data.len() as f64;
    let sum: f64 = data.iter().sum();
    let mean = sum / n;
    let var = data.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    data.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = if data.len() % 2 == 1 {
        data[data.len() / 2]
    } else {
        (data[data.len() / 2 - 1] + data[data.len() / 2]) / 2.0
    };
    let mut h: u64 = 0xcbf29ce484222325;
    for x in data.iter() {
        h ^= x.to_bits();
        h = h.wrapping_mul(0x100000001b3);
    }
    println!(
        "{}: count={} sum={} mean={:.6} stddev={:.6} min={} max={} median={} hash={:016x}",
        name,
        data.len(),
        sum,
        mean,
        var.sqrt(),
        data[0],
        data[data.len() - 1],
        median,
        h
    );
}

fn sieve(limit: usize) -> Vec<usize> {
    let mut composite = vec![false; limit + 1];
    let mut primes = Vec::new();
    for i in 2..=limit {
        if !composite[i] {
            primes.push(i);
            // i * i overflows a 32-bit usize (wasm32) for i > 65535: guard
            // with a division so the sieve is the same on every target
            let mut j = if i <= limit / i { i * i } else { limit + 1 };
            while j <= limit {
                composite[j] = true;
                j += i;
            }
        }
    }
    primes
}

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: crunch FILE...");
        process::exit(2);
    }
    for name in &files {
        let text = fs::read_to_string(name).unwrap_or_else(|e| {
            eprintln!("crunch: {}: {}", name, e.kind_str());
            process::exit(3);
        });
        let mut data = Vec::new();
        for tok in text.split_whitespace() {
            match tok.parse::<f64>() {
                Ok(x) => data.push(x),
                Err(_) => {
                    eprintln!("crunch: {}: not a number: {}", name, tok);
                    process::exit(3);
                }
            }
        }
        if data.is_empty() {
            println!("{}: no numbers", name);
            continue;
        }
        stats(name, &mut data);
    }
    let primes = sieve(1_000_000);
    let sum: u64 = primes.iter().map(|&p| p as u64).sum();
    println!("primes below 1e6: {} (sum {}, last {})", primes.len(), sum, primes[primes.len() - 1]);
    println!("1/3 = {} 2^0.5 = {} 1e21 = {} tiny = {:e}", 1.0f64 / 3.0, 2f64.sqrt(), 1e21f64, 5e-324f64);
}

/// A short, platform-independent name for an I/O error (the OS message
/// text differs between a native libc and WASI).
trait KindStr {
    fn kind_str(&self) -> &'static str;
}

impl KindStr for std::io::Error {
    fn kind_str(&self) -> &'static str {
        match self.kind() {
            std::io::ErrorKind::NotFound => "not found",
            std::io::ErrorKind::PermissionDenied => "permission denied",
            std::io::ErrorKind::InvalidData => "not UTF-8",
            _ => "I/O error",
        }
    }
}
