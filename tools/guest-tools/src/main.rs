//! `polyworker-guest-tools`: the two build steps C and Go guests need that
//! their own toolchains lack, from the same libraries `wit-bindgen` and
//! `wasm-tools` are made of (so CI does not build those CLIs):
//!
//! - `c-bindings`, `go-bindings`: bindings for a WIT world (`wit-bindgen c`
//!   and `wit-bindgen go`);
//! - `componentize`: a core module → a component. It embeds the world's type
//!   information when `--wit` is given (`wasm-tools component embed`), then
//!   encodes the component with the WASI preview1 *reactor* adapter that
//!   matches the host's wasmtime (`wasm-tools component new --adapt`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::{Resolve, WorldId};

#[derive(Parser)]
#[command(name = "polyworker-guest-tools", about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes C bindings for WORLD (`<world>.h`, `<world>.c`,
    /// `<world>_component_type.o`) into OUT.
    CBindings {
        #[arg(long)]
        wit: PathBuf,
        #[arg(long)]
        world: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Writes Go bindings for WORLD into OUT (a Go package tree; the
    /// runtime package they import ships with the `wit-bindgen-go` crate).
    GoBindings {
        #[arg(long)]
        wit: PathBuf,
        #[arg(long)]
        world: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Turns the core module CORE into a component at OUT.
    Componentize {
        /// Embed WORLD's type information from this WIT directory first
        /// (needed unless the module already carries it, as C modules linked
        /// with the bindings' `_component_type.o` do).
        #[arg(long, requires = "world")]
        wit: Option<PathBuf>,
        #[arg(long)]
        world: Option<String>,
        /// Allocate the adapter's state by growing memory instead of through
        /// the module's `cabi_realloc` (for modules without one; not for Go,
        /// whose heap would collide with those pages).
        #[arg(long)]
        realloc_via_memory_grow: bool,
        core: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
}

fn world(wit: &Path, name: &str) -> Result<(Resolve, WorldId)> {
    let mut resolve = Resolve::default();
    let (pkg, _) = resolve
        .push_path(wit)
        .with_context(|| format!("reading WIT from {}", wit.display()))?;
    let id = resolve.select_world(&[pkg], Some(name))?;
    Ok((resolve, id))
}

fn c_bindings(wit: &Path, name: &str, out: &Path) -> Result<()> {
    let (mut resolve, id) = world(wit, name)?;
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, id, &mut files)?;
    std::fs::create_dir_all(out)?;
    for (file, contents) in files.iter() {
        std::fs::write(out.join(file), contents)
            .with_context(|| format!("writing {}", out.join(file).display()))?;
    }
    Ok(())
}

fn go_bindings(wit: &Path, name: &str, out: &Path) -> Result<()> {
    let (mut resolve, id) = world(wit, name)?;
    let mut files = wit_bindgen_core::Files::default();
    let opts = wit_bindgen_go::Opts {
        format: wit_bindgen_go::Format::False,
        ..Default::default()
    };
    opts.build().generate(&mut resolve, id, &mut files)?;
    for (file, contents) in files.iter() {
        let path = out.join(file);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn componentize(
    wit: Option<&Path>,
    name: Option<&str>,
    realloc_via_memory_grow: bool,
    core: &Path,
    output: &Path,
) -> Result<()> {
    let mut module = std::fs::read(core).with_context(|| format!("reading {}", core.display()))?;
    if let (Some(wit), Some(name)) = (wit, name) {
        let (resolve, id) = world(wit, name)?;
        wit_component::embed_component_metadata(&mut module, &resolve, id, StringEncoding::UTF8)?;
    }
    let component = ComponentEncoder::default()
        .validate(true)
        .module(&module)?
        .adapter(
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .realloc_via_memory_grow(realloc_via_memory_grow)
        .encode()
        .context("encoding the component")?;
    std::fs::write(output, component).with_context(|| format!("writing {}", output.display()))
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::CBindings { wit, world, out } => c_bindings(&wit, &world, &out),
        Command::GoBindings { wit, world, out } => go_bindings(&wit, &world, &out),
        Command::Componentize {
            wit,
            world,
            realloc_via_memory_grow,
            core,
            output,
        } => componentize(
            wit.as_deref(),
            world.as_deref(),
            realloc_via_memory_grow,
            &core,
            &output,
        ),
    }
}
