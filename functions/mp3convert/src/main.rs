//! `mp3convert`: serve the whole platform (the default), convert one file, upload one to a
//! server (`client`), or print the API's OpenAPI description.

mod client;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use mp3convert::Platform;
use platform::config::{Config, Mode};

#[derive(Parser)]
#[command(version, about = "Video to MP3 conversion platform: the whole thing in one process")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every route on the embedded default (the default command).
    Serve {
        /// HOST:PORT to listen on [env: MP3CONVERT_ADDR; default 127.0.0.1:8080]
        #[arg(long)]
        addr: Option<String>,
        /// Where users, jobs, videos and MP3s are kept [env: MP3CONVERT_DATA_DIR]
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Convert one file to MP3, no server.
    Convert {
        input: PathBuf,
        output: PathBuf,
        /// v0..v9 (VBR quality) or cbr32..cbr320
        #[arg(long, default_value = "v2")]
        preset: String,
    },
    /// Upload a file to a server, follow its conversion and download the MP3.
    Upload {
        file: PathBuf,
        /// The server's base URL
        #[arg(long, env = "MP3CONVERT_SERVER", default_value = "http://127.0.0.1:8080")]
        server: String,
        /// A token from POST /api/v1/tokens
        #[arg(long, env = "MP3CONVERT_TOKEN", hide_env_values = true)]
        token: String,
        /// v0..v9 (VBR quality) or cbr32..cbr320 [default: the server's]
        #[arg(long)]
        preset: Option<String>,
        /// Where the MP3 goes [default: the file's name with .mp3, here]
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print the OpenAPI 3.1 description of every route (what docs/openapi.json holds).
    Openapi,
    /// Internal: one conversion's worker process, driven over stdin/stdout by its parent.
    #[command(name = "convert-worker", hide = true)]
    ConvertWorker,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve { addr: None, data_dir: None }) {
        Command::Serve { addr, data_dir } => serve(addr, data_dir),
        Command::Convert { input, output, preset } => convert(&input, &output, &preset),
        Command::Upload { file, server, token, preset, output } => upload(client::Upload { file, server, token, preset, output }),
        Command::Openapi => {
            print!("{}", mp3convert::api_doc::openapi_json());
            ExitCode::SUCCESS
        }
        Command::ConvertWorker => media::isolate::worker_main(),
    }
}

fn upload(upload: client::Upload) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("mp3convert: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(client::run(upload)) {
        Ok(output) => {
            eprintln!("{}: downloaded", output.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mp3convert: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(addr: Option<String>, data_dir: Option<PathBuf>) -> ExitCode {
    let config = Config::from_lookup(|name| match name {
        "MP3CONVERT_ADDR" if addr.is_some() => addr.clone(),
        "MP3CONVERT_DATA_DIR" if data_dir.is_some() => data_dir.as_ref().map(|d| d.display().to_string()),
        _ => std::env::var(name).ok().filter(|v| !v.is_empty()),
    });
    let config = match config {
        Ok(config) => config,
        Err(e) => {
            eprintln!("mp3convert: {e}");
            return ExitCode::from(2);
        }
    };
    platform::telemetry::init(config.log_json);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("mp3convert: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mp3convert: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let platform = Platform::start(&config).await?;
    let listener =
        tokio::net::TcpListener::bind(config.addr).await.map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.addr))?;
    let addr = listener.local_addr()?;
    let mode = if config.mode == Mode::Dev { "dev mode" } else { "production mode" };
    let shutdown = platform::http::shutdown_signal();
    println!("mp3convert ready on http://{addr} ({mode}, {} workers, data in {})", config.workers, config.data_dir.display());
    platform.serve(listener, shutdown).await
}

fn convert(input: &std::path::Path, output: &std::path::Path, preset: &str) -> ExitCode {
    let preset: media::Preset = match preset.parse() {
        Ok(preset) => preset,
        Err(_) => {
            eprintln!("mp3convert: invalid_preset: {preset:?} is not a preset (v0..v9, cbr32..cbr320)");
            return ExitCode::from(2);
        }
    };
    let limits = match platform::config::Limits::from_env() {
        Ok(limits) => limits,
        Err(e) => {
            eprintln!("mp3convert: {e}");
            return ExitCode::from(2);
        }
    };
    let sandbox = match limits.sandbox() {
        Ok(sandbox) => sandbox,
        Err(e) => {
            eprintln!("mp3convert: cannot find the converter executable: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = media::Options {
        max_duration: Some(limits.max_duration),
        encode_threads: limits.encode_threads,
        ..media::Options::for_path(input, preset)
    };
    let bar = progress::bar(1000, "{spinner} converting [{bar:30}] {percent:>3}% {elapsed} (about {eta} left)");
    let converted =
        media::convert_file_with_progress(input, output, &options, Some(&sandbox), &mut |p| bar.set_position((p * 1000.0) as u64));
    bar.finish_and_clear();
    match converted {
        Ok(report) => {
            let note = if report.truncated { " (input truncated: converted the readable part)" } else { "" };
            eprintln!(
                "{}: {:.3} s of {} audio, {} Hz, {} ch, {} bytes{note}",
                output.display(),
                report.duration_ms as f64 / 1000.0,
                report.source_codec,
                report.sample_rate,
                report.channels,
                report.bytes
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mp3convert: {}: {e}", e.code());
            ExitCode::FAILURE
        }
    }
}
