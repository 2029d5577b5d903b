package ecrapi

// registerRegistryOps registers this file's operations.
func (s *Service) registerRegistryOps(d *Dispatcher) {}
