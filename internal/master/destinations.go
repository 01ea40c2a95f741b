package master

import (
	"context"
	"reflect"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/onair-studio/onair/internal/config"
	"github.com/onair-studio/onair/internal/output"
	"github.com/onair-studio/onair/internal/state"
	"github.com/onair-studio/onair/stub/pb"
)

// AddDestination adds a destination for this run and to the config file.
// Its key goes to the key store, never to the file.
func (m *Master) AddDestination(ctx context.Context, spec *pb.DestinationSpec) (*pb.MasterStatus, error) {
	m.changes.Lock()
	defer m.changes.Unlock()
	d := destinationOf(spec)
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
	d, err := m.keyApart(d)
	if err != nil {
		return nil, err
	}
	m.outputs.add(d)
	m.log.Info("destination added", "name", d.Name, "service", d.Service)
	m.destinationsChanged()
	if err := m.saveDestinations(func(list []config.Destination) []config.Destination { return append(list, d) }); err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "added for this run, but not saved to %s: %v", m.configPath, err)
	}
	return m.Status(ctx, nil)
}

// UpdateDestination replaces destination i in place, for this run and in the
// config file. Everything is checked before anything changes, so a refused
// edit loses nothing (a remove followed by a refused add would lose it).
func (m *Master) UpdateDestination(ctx context.Context, req *pb.DestinationUpdate) (*pb.MasterStatus, error) {
	m.changes.Lock()
	defer m.changes.Unlock()
	i, spec := int(req.GetIndex()), req.GetSpec()
	list := m.outputs.destinations()
	if i < 0 || i >= len(list) {
		return nil, status.Errorf(codes.InvalidArgument, "no destination %d", i)
	}
	old, d := list[i], destinationOf(spec)
	if spec.GetKey() == "" {
		// A key written in the config file stays, and so does one written in
		// the URL when the edit sent back the server without the key it was
		// shown masked.
		d.Key = old.Key
		if d.URL != old.URL && d.URL == withoutKey(old.URL) {
			d.URL = old.URL
		}
	}
	list[i] = d
	if err := m.validate(m.state.Get(), list); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	key := spec.GetKey()
	if key == "" && d.Name != old.Name && old.Name != "" && d.Name != "" {
		// Renamed: the stored key follows the destination.
		var err error
		if key, err = m.outputs.keys.get(old.Name); err != nil {
			return nil, status.Errorf(codes.FailedPrecondition, "reading the stored key of %s: %v", old.Name, err)
		}
	}
	if key != "" {
		if d.Name == "" {
			return nil, status.Error(codes.InvalidArgument, "a destination with a stored key needs a name")
		}
		if err := m.outputs.keys.set(d.Name, key); err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
	}
	d, err := m.keyApart(d)
	if err != nil {
		return nil, err
	}
	if !m.outputs.replace(i, old, d) {
		return nil, status.Errorf(codes.Aborted, "destination %d changed meanwhile; nothing was updated", i)
	}
	m.log.Info("destination updated", "index", i, "name", d.Name, "service", d.Service)
	m.destinationsChanged()
	err = m.saveDestinations(func(list []config.Destination) []config.Destination {
		if j := slices.IndexFunc(list, func(x config.Destination) bool { return reflect.DeepEqual(x, old) }); j >= 0 {
			list[j] = d
			return list
		}
		// Not in the file (the embedded default, or one from a flag): the
		// edit is saved as an added destination, as AddDestination would.
		return append(list, d)
	})
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "updated for this run, but not saved to %s: %v", m.configPath, err)
	}
	return m.Status(ctx, nil)
}

// withoutKey is a destination URL without its key (output.SplitKey).
func withoutKey(raw string) string {
	server, _ := output.SplitKey(raw)
	return server
}

// destinationOf is a destination as the API describes it; the key is not
// part of it (it goes to the key store).
func destinationOf(spec *pb.DestinationSpec) config.Destination {
	return config.Destination{Name: spec.GetName(), Service: spec.GetService(), URL: spec.GetUrl(), Rendition: spec.GetRendition()}
}

// RemoveDestination stops and removes destination i (by its place in status).
func (m *Master) RemoveDestination(ctx context.Context, req *pb.DestinationRequest) (*pb.MasterStatus, error) {
	m.changes.Lock()
	defer m.changes.Unlock()
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

// keyApart moves d's stream key, if it has one written in it, to the key
// store, naming d if it has no name, so the config file never holds a key.
func (m *Master) keyApart(d config.Destination) (config.Destination, error) {
	taken := map[string]bool{}
	for _, x := range m.outputs.destinations() {
		taken[x.Name] = true
	}
	if m.configPath != "" {
		// Destinations of the file that flags replaced for this run keep
		// their names, and the keys filed under them.
		if c, err := config.Load(m.configPath); err == nil {
			for _, x := range c.Destinations {
				taken[x.Name] = true
			}
		}
	}
	d, err := m.outputs.keys.apart(d, func(name string) bool { return taken[name] })
	if err != nil {
		return d, status.Errorf(codes.FailedPrecondition, "storing the stream key apart from the config: %v", err)
	}
	return d, nil
}

func (m *Master) saveDestinations(change func([]config.Destination) []config.Destination) error {
	if m.configPath == "" {
		return nil
	}
	return config.Update(m.configPath, func(c *config.Config) { c.Destinations = change(c.Destinations) })
}
