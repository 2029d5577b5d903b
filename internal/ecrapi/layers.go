package ecrapi

// registerLayerOps registers this file's operations.
func (s *Service) registerLayerOps(d *Dispatcher) {}
