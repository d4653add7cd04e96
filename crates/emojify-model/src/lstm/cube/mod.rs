//! The place of the [`super::LstmLayer`] kernels for burn's Cube backend (wgpu, cuda, rocm: one
//! CubeCL source for every runtime), beside [`super::cpu`]. Not written yet (issue #17): until
//! then wgpu runs [`super::composed`]. A kernel here implements the extension's three methods —
//! `lstm_layer`, `lstm_layer_forward` returning [`super::op::LstmSaved`] as device tensors, and
//! `lstm_layer_backward` — and the autodiff node trains it unchanged.
