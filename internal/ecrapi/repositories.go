package ecrapi

// registerRepositoryOps registers this file's operations.
func (s *Service) registerRepositoryOps(d *Dispatcher) {}
