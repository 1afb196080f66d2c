//! `convert INPUT OUTPUT.mp3 [PRESET]`: the engine from the command line (used by the benchmark).

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: convert INPUT OUTPUT.mp3 [v0..v9|cbr32..cbr320]");
        return ExitCode::from(2);
    }
    let preset = match args.get(3).map(|p| p.parse::<media::Preset>()).transpose() {
        Ok(p) => p.unwrap_or_default(),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match media::convert_file(Path::new(&args[1]), Path::new(&args[2]), &media::Options::for_path(Path::new(&args[1]), preset), None) {
        Ok(r) => {
            println!(
                "{} ms, {} Hz, {} ch, {} bytes, codec {}{}",
                r.duration_ms,
                r.sample_rate,
                r.channels,
                r.bytes,
                r.source_codec,
                if r.truncated { ", truncated" } else { "" }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error [{}]: {e}", e.code());
            ExitCode::FAILURE
        }
    }
}
