//! Reading input files into operations.
