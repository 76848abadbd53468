//! The `wardgate` command: serve, check-config, devices, policy, bench.

fn main() {
    println!("wardgate");
}
