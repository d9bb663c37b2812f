//! `actormq bench disk`: what the disk under a store gives a sync-flush broker, without a broker.
//!
//! Does exactly what the writer and the flusher do in sync mode, in a loop: append `chunk` bytes to
//! a preallocated memory-mapped file (`MappedFile::create`, the commit log's own code; written
//! through the descriptor as the sync-mode writer does, or with `--write mmap` copied into the
//! mapping as in async mode; zero-filled first with `--zero-fill`, as `warm_mapped_file` does) and
//! msync the range from the last flushed page to the end of the write. One chunk stands for one flush group,
//! so running several chunk sizes shows what a group costs against a single small record — the
//! ceiling for group commit on this disk. Prints msyncs/s each second (virtual disks often allow a
//! burst and then throttle) and the latency percentiles per chunk size.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;

use actormq::store::mapped_file::MappedFile;

#[derive(clap::Args)]
pub struct DiskArgs {
    /// Directory to put the probe file in (the store's disk); the file is removed afterwards.
    #[arg(long, default_value = ".")]
    dir: PathBuf,
    /// Bytes appended per msync; a comma-separated list runs each size in turn.
    #[arg(long, value_delimiter = ',', default_value = "256,4096,16384,65536")]
    chunk: Vec<usize>,
    /// Seconds per chunk size.
    #[arg(long, default_value_t = 3)]
    duration: u64,
    /// Size of the probe file in MiB (the run stops early when it is full).
    #[arg(long, default_value_t = 1024)]
    file_mib: u64,
    /// How appends reach the file: `fd` (pwrite, the sync-mode writer) or `mmap` (a copy into the
    /// mapping, the async-mode writer).
    #[arg(long, value_enum, default_value_t = WriteVia::Fd)]
    write: WriteVia,
    /// Zero-fill the file first (what `store.warm_mapped_file` has the allocator do).
    #[arg(long)]
    zero_fill: bool,
    /// Print one JSON object per chunk size instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum WriteVia {
    Fd,
    Mmap,
}

impl WriteVia {
    fn name(self) -> &'static str {
        match self {
            WriteVia::Fd => "fd",
            WriteVia::Mmap => "mmap",
        }
    }
}

pub async fn run(args: DiskArgs) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || {
        for &chunk in &args.chunk {
            probe(&args, chunk.max(1))?;
        }
        Ok(())
    })
    .await?
}

fn probe(args: &DiskArgs, chunk: usize) -> anyhow::Result<()> {
    let path = args
        .dir
        .join(format!(".actormq-disk-probe-{}", std::process::id()));
    let size = args.file_mib << 20;
    let mut file = MappedFile::create(&path, 0, size)
        .with_context(|| format!("creating {}", path.display()))?;
    // Removed when the probe ends, also on error (not before: an unlinked file is not what the
    // broker flushes).
    let _remove = RemoveOnDrop(path);
    if args.zero_fill {
        file.zero_fill().context("zero-filling the probe file")?;
    }
    // Written as the commit log writes its active file: only above what was published.
    let mut file = file.into_writer();
    let data = vec![b'x'; chunk];
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let (mut flushed, mut written) = (0usize, 0usize);
    let started = Instant::now();
    let (mut second, mut in_second) = (started, 0u64);
    let mut rates = Vec::new();
    while started.elapsed() < Duration::from_secs(args.duration) && written + chunk <= size as usize
    {
        match args.write {
            WriteVia::Fd => file.write_through(written, &data)?,
            WriteVia::Mmap => file.write(written, &data)?,
        }
        written += chunk;
        file.publish(written);
        let from = flushed / 4096 * 4096;
        let t0 = Instant::now();
        file.file().flush_range(from, written - from)?;
        let _ = hist.record(t0.elapsed().as_micros().max(1) as u64);
        flushed = written;
        in_second += 1;
        if second.elapsed() >= Duration::from_secs(1) {
            rates.push(in_second);
            if !args.json {
                eprint!("\r  chunk {chunk}: {in_second} msyncs/s   ");
                let _ = std::io::stderr().flush();
            }
            (second, in_second) = (Instant::now(), 0);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let count = hist.len();
    let (rate, mbps) = (count as f64 / elapsed, written as f64 / elapsed / 1e6);
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "chunk": chunk, "write": args.write.name(),
                "zero_fill": args.zero_fill, "seconds": elapsed, "msyncs": count, "msyncs_per_sec": rate,
                "mb_per_sec": mbps, "per_second": rates,
                "p50_us": hist.value_at_quantile(0.5), "p99_us": hist.value_at_quantile(0.99),
                "max_us": hist.max(),
            })
        );
    } else {
        eprint!("\r");
        let (via, zero) = (
            args.write.name(),
            if args.zero_fill { ", zero-filled" } else { "" },
        );
        println!(
            "chunk {chunk:>7} B ({via}{zero}): {rate:>7.0} msyncs/s {mbps:>6.1} MB/s  p50 {} us  \
             p99 {} us  max {} us  per second {rates:?}",
            hist.value_at_quantile(0.5),
            hist.value_at_quantile(0.99),
            hist.max()
        );
    }
    Ok(())
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
