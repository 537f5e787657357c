//! `stylemark completions SHELL` and `stylemark man DIR`: shell completions and man pages,
//! generated from the same clap definition as `--help` (so from the option table too).

use std::path::PathBuf;

use clap::{Args, Command, CommandFactory};
use clap_complete::Shell;
use stylemark::{Error, Result};

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    shell: Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// The directory to write the pages into (`stylemark.1`, `stylemark-doodle.1`, ...).
    #[arg(default_value = "man")]
    dir: PathBuf,
}

/// Prints the completion script for `args.shell` on standard output.
pub fn completions(args: CompletionsArgs) -> Result<()> {
    let mut command = crate::Cli::command();
    clap_complete::generate(
        args.shell,
        &mut command,
        "stylemark",
        &mut std::io::stdout(),
    );
    Ok(())
}

/// Writes a man page for `stylemark` and one for each of its commands into `args.dir`.
pub fn man(args: ManArgs) -> Result<()> {
    std::fs::create_dir_all(&args.dir).map_err(|e| Error::io("cannot create", &args.dir, e))?;
    let command = crate::Cli::command();
    let mut written = Vec::new();
    write_pages(&command, "stylemark", &args.dir, &mut written)?;
    eprintln!(
        "wrote {} man pages into {}",
        written.len(),
        args.dir.display()
    );
    Ok(())
}

/// The page of `command` (named `name`) and, recursively, of its subcommands.
fn write_pages(
    command: &Command,
    name: &str,
    dir: &std::path::Path,
    written: &mut Vec<PathBuf>,
) -> Result<()> {
    // clap keeps command names for the life of the program; a page or two per command.
    let name: &'static str = Box::leak(name.to_string().into_boxed_str());
    let command = command.clone().name(name);
    let path = dir.join(format!("{name}.1"));
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .map_err(|e| Error::io("cannot render", &path, e))?;
    std::fs::write(&path, page).map_err(|e| Error::io("cannot write", &path, e))?;
    written.push(path);
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
