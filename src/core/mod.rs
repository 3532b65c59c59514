//! The sans-IO core: events in, commands out, time passed in.
