//! `dealpulse`: the local runtime's command line. All behaviour lives in the library.

fn main() -> std::process::ExitCode {
    dealpulse::cli::main()
}
