package master

import (
	"context"
	"reflect"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/state"
	"github.com/onair-studio/onair/stub/pb"
)

// AddDestination adds a destination for this run and to the config file.
// Its key goes to the key store, never to the file.
func (m *Master) AddDestination(ctx context.Context, spec *pb.DestinationSpec) (*pb.MasterStatus, error) {
	d := config.Destination{Name: spec.GetName(), Service: spec.GetService(), URL: spec.GetUrl(), Rendition: spec.GetRendition()}
	if err := m.validate(m.state.Get(), append(m.outputs.destinations(), d)); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if spec.GetKey() != "" {
		if d.Name == "" {
			return nil, status.Error(codes.InvalidArgument, "a destination with a stored key needs a name")
		}
		if err := m.outputs.keys.set(d.Name, spec.GetKey()); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	}
	m.outputs.add(d)
	m.log.Info("destination added", "name", d.Name, "service", d.Service)
	m.destinationsChanged()
	if err := m.saveDestinations(func(list []config.Destination) []config.Destination { return append(list, d) }); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "added for this run, but not saved to %s: %v", m.configPath, err)
	}
	return m.Status(ctx, nil)
}

// RemoveDestination stops and removes destination i (by its place in status).
func (m *Master) RemoveDestination(ctx context.Context, req *pb.DestinationRequest) (*pb.MasterStatus, error) {
	d, ok := m.outputs.remove(int(req.GetIndex()))
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "no destination %d", req.GetIndex())
	}
	m.log.Info("destination removed", "name", d.Name)
	m.destinationsChanged()
	err := m.saveDestinations(func(list []config.Destination) []config.Destination {
		if i := slices.IndexFunc(list, func(x config.Destination) bool { return reflect.DeepEqual(x, d) }); i >= 0 {
			return slices.Delete(list, i, i+1)
		}
		return list // it came from a flag, not the file
	})
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "removed for this run, but not saved to %s: %v", m.configPath, err)
	}
	return m.Status(ctx, nil)
}

// destinationsChanged encodes exactly the renditions the destinations use.
func (m *Master) destinationsChanged() {
	used := usedRenditions(m.renditions, m.outputs.destinations())
	if _, changed := m.state.Update(func(d *state.Desired) { d.Renditions = used }); changed {
		m.reconcile()
	}
}

func (m *Master) saveDestinations(change func([]config.Destination) []config.Destination) error {
	if m.configPath == "" {
		return nil
	}
	return config.Update(m.configPath, func(c *config.Config) { c.Destinations = change(c.Destinations) })
}
