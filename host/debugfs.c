// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/pvx/: counters, read-only.
 *
 *   vms                    live per-VM states, decimal
 *   counters               "name value" lines, host-wide
 *   vm<id>-<pid>/counters  "name value" lines for one VM
 *   vm<id>-<pid>/enabled   the VM's policy, read-only copies of
 *   vm<id>-<pid>/features  /sys/kernel/pvx_host/vms/vm<id>-<pid>/ (sysfs.c)
 *
 * and for each feature module that uses pvx_feature_counters_init():
 *   <feature>              "name value" lines, host totals
 *   vm<id>-<pid>/<feature> "name value" lines for one VM
 *
 * No file is writable: lockdown=integrity refuses to open writable
 * debugfs files even for reading, and the controls the admin writes live
 * in sysfs and module parameters, which lockdown leaves alone.
 *
 * Files are created with debugfs_create_file(), whose proxy makes removal
 * wait for readers in flight, so a VM's files never outlive its state.
 */
#include "internal.h"

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/overflow.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

static struct dentry *pvx_debugfs_root;

static const char * const pvx_stat_names[PVX_STAT_NR] = {
	[PVX_STAT_CALLS]		= "calls",
	[PVX_STAT_PROBE]		= "probe",
	[PVX_STAT_ENOSYS]		= "enosys",
	[PVX_STAT_EINVAL]		= "einval",
	[PVX_STAT_EOPNOTSUPP]		= "eopnotsupp",
	[PVX_STAT_ENOMEM]		= "enomem",
	[PVX_STAT_ERRORS]		= "errors",
	[PVX_STAT_VMS_CREATED]		= "vms_created",
	[PVX_STAT_VMS_DESTROYED]	= "vms_destroyed",
};

static const char * const pvx_vm_stat_names[PVX_VM_STAT_NR] = {
	[PVX_VM_STAT_CALLS]	= "calls",
	[PVX_VM_STAT_PROBE]	= "probe",
	[PVX_VM_STAT_ENOSYS]	= "enosys",
	[PVX_VM_STAT_ERRORS]	= "errors",
};

static int pvx_vms_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%lld\n", atomic64_read(&pvx_nr_vms));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pvx_vms);

static int pvx_counters_show(struct seq_file *m, void *v)
{
	unsigned int i;

	for (i = 0; i < PVX_STAT_NR; i++)
		seq_printf(m, "%s %lld\n", pvx_stat_names[i],
			   atomic64_read(&pvx_stats[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pvx_counters);

static int pvx_vm_counters_show(struct seq_file *m, void *v)
{
	struct pvx_vm *vm = m->private;
	unsigned int i;

	for (i = 0; i < PVX_VM_STAT_NR; i++)
		seq_printf(m, "%s %lld\n", pvx_vm_stat_names[i],
			   atomic64_read(&vm->stats[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pvx_vm_counters);

/*
 * vm<id>-<pid>/enabled and /features: one u32 policy knob each, read in
 * @fmt. private_data points at the field inside struct pvx_vm.
 */
static ssize_t pvx_knob_read(struct file *file, char __user *ubuf,
			     size_t count, loff_t *ppos, const char *fmt)
{
	u32 *knob = file->private_data;
	char buf[16];
	int len;

	len = scnprintf(buf, sizeof(buf), fmt, READ_ONCE(*knob));
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static ssize_t pvx_vm_enabled_read(struct file *file, char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	return pvx_knob_read(file, ubuf, count, ppos, "%u\n");
}

static const struct file_operations pvx_vm_enabled_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = pvx_vm_enabled_read,
	.llseek = default_llseek,
};

static ssize_t pvx_vm_features_read(struct file *file, char __user *ubuf,
				    size_t count, loff_t *ppos)
{
	return pvx_knob_read(file, ubuf, count, ppos, "0x%x\n");
}

static const struct file_operations pvx_vm_features_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = pvx_vm_features_read,
	.llseek = default_llseek,
};

void pvx_debugfs_vm_add(struct pvx_vm *vm)
{
	char name[40];

	snprintf(name, sizeof(name), "vm%llu-%d", vm->id, vm->pid);
	vm->dir = debugfs_create_dir(name, pvx_debugfs_root);
	debugfs_create_file("counters", 0444, vm->dir, vm,
			    &pvx_vm_counters_fops);
	debugfs_create_file("enabled", 0444, vm->dir, &vm->enabled,
			    &pvx_vm_enabled_fops);
	debugfs_create_file("features", 0444, vm->dir, &vm->features,
			    &pvx_vm_features_fops);
}

void pvx_debugfs_vm_remove(struct pvx_vm *vm)
{
	debugfs_remove(vm->dir);
	vm->dir = NULL;
}

/* A feature's counters of one VM: its private data (pvx_vm_set_priv()). */
struct pvx_feature_vm_counters {
	const struct pvx_feature_counters *fc;
	struct dentry *file;		/* vm<id>-<pid>/<fc->name> */
	atomic64_t v[];			/* fc->vm_nr */
};

static void pvx_show_counters(struct seq_file *m, const char * const *names,
			      const atomic64_t *v, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		seq_printf(m, "%s %lld\n", names[i], atomic64_read(&v[i]));
}

static int pvx_feature_totals_show(struct seq_file *m, void *v)
{
	const struct pvx_feature_counters *fc = m->private;

	pvx_show_counters(m, fc->names, fc->totals, fc->nr);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pvx_feature_totals);

static int pvx_feature_vm_show(struct seq_file *m, void *v)
{
	const struct pvx_feature_vm_counters *vc = m->private;

	pvx_show_counters(m, vc->fc->names, vc->v, vc->fc->vm_nr);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pvx_feature_vm);

void pvx_feature_counters_init(struct pvx_feature_counters *fc)
{
	fc->file = debugfs_create_file(fc->name, 0444, pvx_debugfs_root, fc,
				       &pvx_feature_totals_fops);
}
EXPORT_SYMBOL_GPL(pvx_feature_counters_init);

void pvx_feature_counters_exit(struct pvx_feature_counters *fc)
{
	debugfs_remove(fc->file);
	fc->file = NULL;
}
EXPORT_SYMBOL_GPL(pvx_feature_counters_exit);

/*
 * Runs when the VM dies, when pvx_host unloads or when the feature's last
 * handler is unregistered; never while a handler of the VM runs.
 * debugfs_remove() waits for readers of the file in flight.
 */
static void pvx_feature_vm_dtor(struct pvx_vm *vm, void *data)
{
	struct pvx_feature_vm_counters *vc = data;

	debugfs_remove(vc->file);
	kfree(vc);
}

struct pvx_feature_vm_counters *
pvx_feature_counters_vm(struct pvx_vm *vm,
			const struct pvx_feature_counters *fc)
{
	struct pvx_feature_vm_counters *vc, *new;

	vc = pvx_vm_get_priv(vm, fc->feature);
	if (likely(vc))
		return vc;

	new = kzalloc(struct_size(new, v, fc->vm_nr), GFP_KERNEL_ACCOUNT);
	if (!new)
		return NULL;
	new->fc = fc;
	vc = pvx_vm_set_priv(vm, fc->feature, new, pvx_feature_vm_dtor);
	if (vc != new) {
		/* Another vCPU of the VM installed its counters first. */
		kfree(new);
		return vc;
	}
	/*
	 * Only the vCPU that installed them creates the file; the
	 * destructor cannot run before its handler returns.
	 * pvx_vm_debugfs_dir() waits for the VM's directory.
	 */
	vc->file = debugfs_create_file(fc->name, 0444, pvx_vm_debugfs_dir(vm),
				       vc, &pvx_feature_vm_fops);
	return vc;
}
EXPORT_SYMBOL_GPL(pvx_feature_counters_vm);

void pvx_feature_counters_add(const struct pvx_feature_counters *fc,
			      struct pvx_feature_vm_counters *vc,
			      unsigned int i, u64 n)
{
	if (i >= fc->nr)
		return;
	atomic64_add(n, &fc->totals[i]);
	if (vc && i < fc->vm_nr)
		atomic64_add(n, &vc->v[i]);
}
EXPORT_SYMBOL_GPL(pvx_feature_counters_add);

/* Failures are not fatal: pvx works without its debugfs files. */
void pvx_debugfs_init(void)
{
	pvx_debugfs_root = debugfs_create_dir("pvx", NULL);
	debugfs_create_file("vms", 0444, pvx_debugfs_root, NULL,
			    &pvx_vms_fops);
	debugfs_create_file("counters", 0444, pvx_debugfs_root, NULL,
			    &pvx_counters_fops);
}

void pvx_debugfs_exit(void)
{
	debugfs_remove(pvx_debugfs_root);
	pvx_debugfs_root = NULL;
}
