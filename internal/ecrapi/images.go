package ecrapi

// registerImageOps registers this file's operations.
func (s *Service) registerImageOps(d *Dispatcher) {}
